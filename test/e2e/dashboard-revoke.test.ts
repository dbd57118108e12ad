/**
 * Revoking a device from its Device page in real Chromium against a real control plane: an admin
 * revokes (after confirming) and the device's live MQTT connection closes; an operator sees the
 * button disabled.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../control-plane/src/auth/secrets.ts';
import { hasChromium, launchChromium, signIn } from '../helpers/dashboard-browser.ts';
import {
  basicAuth,
  connectDevice,
  type Device,
  enroll,
  startTestControlPlane,
  type TestControlPlane,
} from '../integration/control-plane/helpers.ts';

let t: TestControlPlane;
let browser: Browser;
let device: Device;

describe.skipIf(!hasChromium)('revoking a device from the dashboard', () => {
  beforeAll(async () => {
    const browserStart = launchChromium();
    t = await startTestControlPlane({
      users: [{ name: 'olga', role: 'operator', passwordHash: await hashSecret('operator-pass') }],
    });
    device = await enroll(t, 'cam-revoke');
    browser = await browserStart;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('is an admin-only button', async () => {
    const page = await signIn(browser, t.cp.httpUrl, 'olga', 'operator-pass');
    await page.goto(`${t.cp.httpUrl}/ui/#/device/cam-revoke`);
    await page.locator('#device-revoke-button').waitFor();
    expect(await page.isDisabled('#device-revoke-button')).toBe(true);
    await page.context().close();
  });

  it('revokes: the live connection closes and the secret stops working', async () => {
    const client = await connectDevice(t.cp.mqttUrl, device);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const page = await signIn(browser, t.cp.httpUrl, 'admin', t.cp.adminToken);
    await page.goto(`${t.cp.httpUrl}/ui/#/device/cam-revoke`);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.click('#device-revoke-button');
    await page.locator('.toast', { hasText: 'cam-revoke revoked' }).waitFor();
    await closed;
    const res = await fetch(`${t.cp.httpUrl}/api/v1/device/desired`, {
      headers: { authorization: basicAuth(device.deviceId, device.secret) },
    });
    expect(res.status).toBe(401);
    expect((await t.cp.store.security.revocationOf('cam-revoke'))?.revokedBy).toBe('admin');
    await page.context().close();
  });
});
