/**
 * The device page of an agent with two cameras, in real Chromium against a real control plane and
 * a real agent (two ffmpeg test cards, red and blue): one card per camera under the device, each
 * with its own live frame and last prediction, refreshed while the page is open.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium, pageErrors, screenshot, signIn } from '../helpers/dashboard-browser.ts';
import { DEVICE_ID, startTwoCameraAgent, type TwoCameraAgent } from '../helpers/two-camera-agent.ts';
import { waitUntil } from '../integration/rollouts/fleet.ts';

let rig: TwoCameraAgent;
let browser: Browser;

describe.skipIf(!hasChromium)('device page with two cameras', () => {
  beforeAll(async () => {
    const browserStart = launchChromium();
    rig = await startTwoCameraAgent();
    browser = await browserStart;
    // Both cameras have sent a live frame and a prediction before the page opens.
    await waitUntil(
      () =>
        ['front', 'back'].every(
          async (id) =>
            (await rig.t.cp.store.devices.cameraPredictions(DEVICE_ID)).some((p) => p.cameraId === id) &&
            rig.agent.stats().cameras.find((c) => c.cameraId === id)!.framesProcessed > 3,
        ),
      'both cameras classifying',
      30_000,
    );
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await rig?.close();
  });

  it('shows both cameras under the device, each with its live frame and last prediction', async () => {
    const page = await signIn(browser, rig.t.cp.httpUrl, 'admin', rig.t.cp.adminToken);
    await page.goto(`${rig.t.cp.httpUrl}/ui/#/device/${DEVICE_ID}`);
    for (const [id, label] of [
      ['front', 'red'],
      ['back', 'blue'],
    ] as const) {
      const card = page.locator(`#device-cameras [data-camera="${id}"]`);
      await card.waitFor();
      expect(await card.locator('h2').textContent()).toContain(`Camera ${id}`);
      // The live frame arrives every half second: the page polls until it has one, then shows it.
      const img = card.locator('img.camera-live-frame');
      await img.waitFor({ timeout: 15_000 });
      await waitUntil(
        async () => (await img.evaluate((el) => (el as { naturalWidth: number }).naturalWidth)) > 0,
        `camera ${id}'s live frame loaded`,
      );
      expect(await card.locator('.camera-prediction').textContent()).toMatch(new RegExp(`^${label} — `));
      expect(await card.locator('.chips').textContent()).toContain('fps');
    }
    expect(await page.locator('#device-cameras [data-camera]').count()).toBe(2);
    await screenshot(page, 'device-cameras');
    await page.context().close();
    expect(pageErrors).toEqual([]);
  });
});
