/**
 * The dashboard's header in real Chromium: the open alerts count and list, live as an alert fires
 * (a device that never came online) and resolves (it connects).
 */
import { topics } from '@edgeloop/shared';
import type { MqttClient } from 'mqtt';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium, pageErrors, screenshot, signIn } from '../helpers/dashboard-browser.ts';
import {
  connectDevice,
  enroll,
  startTestControlPlane,
  type TestControlPlane,
} from '../integration/control-plane/helpers.ts';

let t: TestControlPlane;
let browser: Browser;
let client: MqttClient | null = null;

beforeAll(async () => {
  if (!hasChromium) return;
  t = await startTestControlPlane({ alerts: { evaluateSeconds: 0.2, deviceOffline: { minutes: 0.01 } } });
  browser = await launchChromium();
});
afterAll(async () => {
  await client?.endAsync(true);
  await browser?.close();
  await t?.stop();
});

describe.runIf(hasChromium)('alerts in the dashboard header', () => {
  it('shows the open count and the list, and follows a resolution', async () => {
    const page = await signIn(browser, t.cp.httpUrl, 'admin', t.cp.adminToken);
    await expect(page.locator('#alerts-count').textContent()).resolves.toBe('0');

    const device = await enroll(t, 'cam-dark');
    await page.locator('#alerts-count', { hasText: '1' }).waitFor({ timeout: 15_000 });
    await page.click('#alerts-button');
    const item = page.locator('#alerts-panel li[data-rule="device-offline"]');
    await expect(item.textContent()).resolves.toContain('cam-dark');
    await screenshot(page, 'alerts-header');

    client = await connectDevice(t.cp.mqttUrl, device);
    await client.publishAsync(
      topics.status(device.deviceId),
      JSON.stringify({ protocol: 1, online: true, at: new Date().toISOString() }),
      { qos: 1, retain: true },
    );
    await page.locator('#alerts-count', { hasText: '0' }).waitFor({ timeout: 15_000 });
    expect(pageErrors).toEqual([]);
    await page.context().close();
  });
});
