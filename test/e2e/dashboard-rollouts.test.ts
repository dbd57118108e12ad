/**
 * The Rollouts page in real Chromium against a real control plane and three real agents
 * (onnxruntime on tiny models, synthetic cameras, MQTT over loopback): a rollout created from the
 * form reaches every agent wave by wave while the page follows it live; pause, resume and abort
 * act on a second one (its canary goes back); roll back returns the fleet to the first version.
 * A viewer sees the form but cannot start a rollout.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../control-plane/src/auth/secrets.ts';
import {
  clickFor,
  hasChromium,
  launchChromium,
  pageErrors,
  screenshot,
  signIn,
} from '../helpers/dashboard-browser.ts';
import { type Fleet, fleetModel, startFleet, waitUntil } from '../integration/rollouts/fleet.ts';

let fleet: Fleet;
let browser: Browser;

const onVersion = (version: number) => async () =>
  (await Promise.all(fleet.ids.map((id) => fleet.reported(id)))).every((r) => r.version === version);

async function fillForm(page: Page, version: number, soakSeconds: number) {
  await page.selectOption('select[aria-label="rollout version"]', String(version));
  await page.selectOption('select[aria-label="target"]', 'all');
  await page.fill('input[aria-label="waves"]', '1, 100%');
  await page.fill('input[aria-label="soak seconds"]', String(soakSeconds));
  await page.fill('input[name=minPredictions]', '5');
  await page.fill('input[name=confDrop]', '0.2');
}

describe.skipIf(!hasChromium)('Rollouts page in Chromium with real agents', () => {
  beforeAll(async () => {
    const browserStart = launchChromium();
    fleet = await startFleet(3, {
      users: [
        { name: 'olga', role: 'operator', passwordHash: await hashSecret('operator-pass') },
        { name: 'vic', role: 'viewer', passwordHash: await hashSecret('viewer-pass') },
      ],
    });
    await fleet.publish(1, fleetModel('confident', 1));
    await fleet.api.assign(1, { all: true });
    await waitUntil(onVersion(1), 'every device on version 1');
    await fleet.publish(2, fleetModel('confident', 2));
    await fleet.publish(3, fleetModel('confident', 3));
    browser = await browserStart;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await fleet?.close();
  });

  it('does not let a viewer start a rollout', async () => {
    const page = await signIn(browser, fleet.t.cp.httpUrl, 'vic', 'viewer-pass');
    await page.locator('#nav-rollouts').waitFor();
    await page.click('#nav-rollouts');
    await page.waitForSelector('#rollout-form');
    expect(await page.isDisabled('#rollout-create')).toBe(true);
    await page.context().close();
    expect(await fleet.t.cp.store.rollouts.list()).toEqual([]);
  });

  it("shows a real agent's live frame with its prediction on the Device page (to a viewer too)", async () => {
    // The agent sends its first thumbnail with the first frame it classifies once connected.
    const api = (path: string) =>
      fetch(`${fleet.t.cp.httpUrl}/api/v1${path}`, {
        headers: { authorization: `Bearer ${fleet.t.cp.adminToken}` },
      });
    const meta = await waitUntil(async () => {
      const res = await api('/devices/cam-00/frame');
      if (res.status !== 200) return null;
      const body = (await res.json()) as { modelVersion: number | null; topK: { label: string }[] };
      return body.modelVersion === 1 ? body : null;
    }, 'a live frame on version 1');
    expect(meta).toMatchObject({ deviceId: 'cam-00', width: 48, height: 48 });
    expect(meta.topK[0].label).toBe('red');
    const jpeg = Buffer.from(await (await api('/devices/cam-00/frame.jpg')).arrayBuffer());
    expect(jpeg.subarray(0, 2).toString('hex')).toBe('ffd8'); // a JPEG (SOI marker)

    const page = await signIn(browser, fleet.t.cp.httpUrl, 'vic', 'viewer-pass');
    await page.goto(`${fleet.t.cp.httpUrl}/ui/#/device/cam-00`);
    await page.waitForSelector('#device-live-frame');
    await waitUntil(
      async () =>
        (await page.$eval('#device-live-frame', (img) => (img as { naturalWidth: number }).naturalWidth)) ===
        48,
      'live frame image decoded',
    );
    expect(await page.textContent('#device-live-prediction')).toMatch(/v1, captured .*red — \d/s);
    await screenshot(page, 'device-live-frame');
    await page.context().close();
  });

  it('creates a rollout from the form that reaches every agent, watched live', async () => {
    const page = await signIn(browser, fleet.t.cp.httpUrl, 'olga', 'operator-pass');
    await page.goto(`${fleet.t.cp.httpUrl}/ui/#/rollouts`);
    await page.waitForSelector('#rollout-form');
    await fillForm(page, 2, 1);
    // Agents report every 300 ms and each report refreshes the page: wait for a refresh to redraw
    // the rollouts list under the form, then what the operator typed must still be there (the
    // form used to be rebuilt with its defaults, and the click started a rollout nobody asked for).
    await page.$eval('.table-wrap', (el) => el.firstElementChild?.setAttribute('data-drawn-before', ''));
    await page.waitForSelector('[data-drawn-before]', { state: 'detached', timeout: 10_000 });
    expect(await page.inputValue('select[aria-label="rollout version"]')).toBe('2');
    expect(await page.inputValue('input[aria-label="waves"]')).toBe('1, 100%');
    expect(await page.inputValue('input[aria-label="soak seconds"]')).toBe('1');
    await clickFor(page, '#rollout-create', '#rollout-waves');
    // First the server's side, which says where a stuck rollout stopped; then the page, which is
    // not reloaded: server-sent events bring every wave and device state.
    const [created] = await fleet.t.cp.store.rollouts.list();
    await fleet.rolloutUntil(created.rolloutId, (r) => r.state === 'completed', 'rollout completed', 40_000);
    await page.locator('#rollout-state', { hasText: 'completed' }).waitFor({ timeout: 10_000 });
    expect(await onVersion(2)()).toBe(true);
    expect(await page.locator('#rollout-devices tbody tr').count()).toBe(3);
    expect(await page.locator('#rollout-devices td.state', { hasText: 'active' }).count()).toBe(3);
    expect(await page.locator('[data-wave] table.gates tbody tr').count()).toBeGreaterThan(0);
    await screenshot(page, 'rollouts', true);
    await page.context().close();
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('pauses, resumes and aborts a rollout; rolling back returns the fleet to the old version', async () => {
    const page = await signIn(browser, fleet.t.cp.httpUrl, 'olga', 'operator-pass');
    await page.goto(`${fleet.t.cp.httpUrl}/ui/#/rollouts`);
    await page.waitForSelector('#rollout-form');
    await fillForm(page, 3, 600);
    await clickFor(page, '#rollout-create', '#rollout-waves');
    // The canary takes version 3; the long soak holds the second wave back.
    await waitUntil(
      async () => (await Promise.all(fleet.ids.map((id) => fleet.reported(id)))).some((r) => r.version === 3),
      'canary on version 3',
    );
    await page.click('#rollout-pause');
    await page.locator('#rollout-state', { hasText: 'paused' }).waitFor();
    await page.click('#rollout-resume');
    await page.locator('#rollout-state', { hasText: 'running' }).waitFor();
    await page.click('#rollout-abort');
    await page.locator('#rollout-state', { hasText: 'aborted' }).waitFor();
    await waitUntil(onVersion(2), 'the canary back on version 2', 30_000);
    await screenshot(page, 'rollout-aborted');

    const [first] = (await fleet.t.cp.store.rollouts.list()).filter((r) => r.modelVersion === 2);
    await page.goto(`${fleet.t.cp.httpUrl}/ui/#/rollouts/${first.rolloutId}`);
    await page.click('#rollout-rollback');
    await waitUntil(onVersion(1), 'every device back on version 1', 30_000);
    await page.locator('#rollout-devices td.state', { hasText: 'rolled_back' }).first().waitFor();
    // Each device's page lists the rollouts it took part in, with where they left it.
    await page.goto(`${fleet.t.cp.httpUrl}/ui/#/device/cam-01`);
    await page.locator('#device-versions', { hasText: 'v1 → v2' }).waitFor();
    expect(await page.textContent('#device-versions')).toContain('rolled_back');
    await screenshot(page, 'device-after-rollback');
    await page.context().close();
    expect(pageErrors).toEqual([]);
  }, 90_000);
});
