/**
 * Pins and group targets in real Chromium against a real control plane and two real agents: the
 * Device page says what decides the device's version (its group's target), an operator pins it to
 * another version there and sees the pin and the device converge, the Fleet page marks and counts
 * the pinned device, and unpinning returns it to its group's version. A viewer cannot pin.
 */
import { apiRoutes, PROTOCOL_VERSION } from '@edgeloop/shared';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../control-plane/src/auth/secrets.ts';
import { hasChromium, launchChromium, pageErrors, screenshot, signIn } from '../helpers/dashboard-browser.ts';
import { type Fleet, fleetModel, startFleet, waitUntil } from '../integration/rollouts/fleet.ts';

let fleet: Fleet;
let browser: Browser;
const runs = (id: string, version: number) =>
  waitUntil(async () => {
    const r = await fleet.reported(id);
    return r.version === version && r.status === 'running';
  }, `${id} running version ${version}`);

describe.skipIf(!hasChromium)('pins and group targets in Chromium with real agents', () => {
  beforeAll(async () => {
    const browserStart = launchChromium();
    fleet = await startFleet(2, {
      users: [
        { name: 'olga', role: 'operator', passwordHash: await hashSecret('operator-pass') },
        { name: 'ada', role: 'admin', passwordHash: await hashSecret('admin-pass') },
        { name: 'vic', role: 'viewer', passwordHash: await hashSecret('viewer-pass') },
      ],
    });
    await fleet.publish(1, fleetModel('confident', 1));
    await fleet.publish(2, fleetModel('confident', 2));
    for (const id of fleet.ids) {
      await fleet.api.call(apiRoutes.updateDevice, {
        params: { id },
        body: { protocol: PROTOCOL_VERSION, group: 'dock' },
      });
    }
    // An assignment to a group is an unstaged rollout that completed: it sets the group's target.
    await fleet.api.assign(1, { group: 'dock' });
    for (const id of fleet.ids) await runs(id, 1);
    browser = await browserStart;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await fleet?.close();
  });

  it('does not let a viewer or an operator pin a device (a pin assigns outside any rollout: admins only)', async () => {
    for (const [name, pass] of [
      ['vic', 'viewer-pass'],
      ['olga', 'operator-pass'],
    ]) {
      const page = await signIn(browser, fleet.t.cp.httpUrl, name, pass);
      await page.goto(`${fleet.t.cp.httpUrl}/ui/#/device/cam-00`);
      await page.locator('#device-governed-by', { hasText: 'group dock' }).waitFor();
      expect(await page.isDisabled('#device-pin-button')).toBe(true);
      await page.context().close();
    }
  });

  it('pins a device from its page, shows it on the Fleet page, and unpins it back to the group version', async () => {
    const page = await signIn(browser, fleet.t.cp.httpUrl, 'ada', 'admin-pass');
    await page.goto(`${fleet.t.cp.httpUrl}/ui/#/device/cam-00`);
    await page.locator('#device-governed-by', { hasText: 'the target of group dock (v1)' }).waitFor();
    expect(await page.textContent('#device-pin')).toBe('not pinned');

    await page.fill('#device-pin-version', '2');
    await page.fill('#device-pin-reason', 'night trial');
    await page.click('#device-pin-button');
    await page.locator('#device-pin', { hasText: 'pinned to v2 by ada (night trial)' }).waitFor();
    expect(await page.textContent('#device-governed-by')).toContain('its pin (v2)');
    await runs('cam-00', 2);
    expect((await fleet.reported('cam-01')).version).toBe(1);

    await page.click('a[data-page="fleet"]');
    const row = page.locator('tr[data-device="cam-00"]');
    await row.locator('.pin', { hasText: 'pinned v2' }).waitFor();
    await page.locator('#fleet-pinned', { hasText: 'pinned 1' }).waitFor();
    expect(await page.locator('tr[data-device="cam-01"] .pin').count()).toBe(0);
    await screenshot(page, 'fleet-pinned');

    await page.goto(`${fleet.t.cp.httpUrl}/ui/#/device/cam-00`);
    await page.locator('#device-pin', { hasText: 'pinned to v2' }).waitFor();
    await page.click('#device-unpin-button');
    await page.locator('#device-pin', { hasText: 'not pinned' }).waitFor();
    await runs('cam-00', 1);
    await page.locator('#device-governed-by', { hasText: 'group dock (v1)' }).waitFor();
    await page.context().close();
    expect(pageErrors).toEqual([]);
  });
});
