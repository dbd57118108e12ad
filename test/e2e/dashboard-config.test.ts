/**
 * Remote configuration on the dashboard's Device page, in real Chromium against a real control
 * plane and a real agent: a bad value is refused with its key named and the Apply button stays
 * off; a good one shows as a diff, is applied, and the agent's applied revision appears.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../control-plane/src/auth/secrets.ts';
import { hasChromium, launchChromium, pageErrors, screenshot, signIn } from '../helpers/dashboard-browser.ts';
import { type Fleet, startFleet, waitUntil } from '../integration/rollouts/fleet.ts';

let fleet: Fleet;
let browser: Browser;

describe.skipIf(!hasChromium)('remote configuration on the Device page', () => {
  beforeAll(async () => {
    const browserStart = launchChromium();
    fleet = await startFleet(1, {
      users: [
        { name: 'olga', role: 'operator', passwordHash: await hashSecret('operator-pass') },
        { name: 'vic', role: 'viewer', passwordHash: await hashSecret('viewer-pass') },
      ],
    });
    browser = await browserStart;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await fleet?.close();
  });

  it('checks, shows the diff, applies, and shows the revision the agent applied', async () => {
    const page = await signIn(browser, fleet.t.cp.httpUrl, 'olga', 'operator-pass');
    await page.goto(`${fleet.t.cp.httpUrl}/ui/#/device/cam-00`);
    await page.click('#config-edit-group');
    await page.fill('#config-text', '{"samples": {"lowConfidenceThreshold": 3}}');
    await page.click('#config-check-button');
    await expect.poll(() => page.textContent('#config-error')).toMatch(/samples\.lowConfidenceThreshold/);
    expect(await page.isDisabled('#config-apply')).toBe(true);

    await page.fill('#config-text', '{"samples": {"lowConfidenceThreshold": 0.3}}');
    await page.click('#config-check-button');
    // Either answer ends the wait; an error's text then shows in the failure.
    await page.waitForSelector('#config-diff, #config-check .error');
    expect(await page.textContent('#config-check')).toMatch(/Valid/);
    expect(await page.textContent('#config-diff')).toMatch(/samples\.lowConfidenceThreshold.*–.*0\.3/);
    await screenshot(page, 'device-config-diff');
    await page.click('#config-apply');

    const agent = fleet.agents.get('cam-00');
    const { revision } = await waitUntil(() => {
      const status = agent?.configStatus();
      return status?.status === 'applied' && status.revision ? status : null;
    }, 'agent applied');
    expect(agent?.currentConfig().samples.lowConfidenceThreshold).toBe(0.3);
    // The desired revision shows first; the applied one follows with the agent's next report.
    await expect
      .poll(() => page.textContent('#device-config-status'), { timeout: 15_000 })
      .toContain(`Applied${revision} applied`);
    await screenshot(page, 'device-config-applied');
    await page.context().close();
    expect(pageErrors).toEqual([]);
  });

  it('keeps the editor focused and what is typed while the page refreshes', async () => {
    const page = await signIn(browser, fleet.t.cp.httpUrl, 'olga', 'operator-pass');
    await page.goto(`${fleet.t.cp.httpUrl}/ui/#/device/cam-00`);
    await page.click('#config-edit-group');
    await page.fill('#config-text', '');
    await page.focus('#config-text');
    await page.keyboard.type('{"samples": ');
    // The agent reports every 300 ms and each report redraws the page around the editor: wait for
    // one redraw, then keep typing as a person would, without clicking back into the editor.
    await page.$eval('.page-device > h1', (el) => el.setAttribute('data-drawn-before', ''));
    await page.waitForSelector('[data-drawn-before]', { state: 'detached', timeout: 10_000 });
    await page.keyboard.type('{"lowConfidenceThreshold": 0.4}}');
    expect(await page.inputValue('#config-text')).toBe('{"samples": {"lowConfidenceThreshold": 0.4}}');
    expect(await page.$eval('#config-text', (el) => el === el.ownerDocument.activeElement)).toBe(true);
    await page.context().close();
    expect(pageErrors).toEqual([]);
  });

  it('shows a viewer the configuration without any way to change it', async () => {
    const page = await signIn(browser, fleet.t.cp.httpUrl, 'vic', 'viewer-pass');
    await page.goto(`${fleet.t.cp.httpUrl}/ui/#/device/cam-00`);
    await page.waitForSelector('#device-config-effective');
    expect(await page.textContent('#device-config-effective')).toContain('lowConfidenceThreshold');
    expect(await page.locator('#config-edit-group').count()).toBe(0);
    await page.context().close();
  });
});
