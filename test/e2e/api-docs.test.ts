/**
 * The interactive API docs at /docs in real Chromium: every operation of the contract shows, the
 * dashboard links to it, and the page loads nothing from anywhere but the control plane itself
 * (a site without internet gets the same page).
 */
import { apiRoutes, type RouteDef } from '@edgeloop/shared';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, launchChromium, pageErrors, screenshot, signIn } from '../helpers/dashboard-browser.ts';
import { startTestControlPlane, type TestControlPlane } from '../integration/control-plane/helpers.ts';

let t: TestControlPlane;
let browser: Browser;

beforeAll(async () => {
  if (!hasChromium) return;
  t = await startTestControlPlane();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

describe.runIf(hasChromium)('API docs in Chromium', () => {
  it('shows every operation, loading nothing from beyond the control plane', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const requested: string[] = [];
    page.on('request', (req) => requested.push(req.url()));
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${t.cp.httpUrl}/docs`);
    const routes = Object.values(apiRoutes) as RouteDef[];
    await page
      .locator('.opblock')
      .nth(routes.length - 1)
      .waitFor();
    expect(await page.locator('.opblock').count()).toBe(routes.length);
    const shown = await page.locator('.opblock-summary-path').allTextContents();
    for (const route of routes) {
      expect(shown.some((p) => p.replace(/\u200b/g, '').endsWith(route.path))).toBe(true);
    }
    await expect(page.locator('.info .title').textContent()).resolves.toContain('edgeloop control plane');
    await screenshot(page, 'api-docs');
    const origin = new URL(t.cp.httpUrl).origin;
    expect(requested.filter((url) => !url.startsWith(origin) && !url.startsWith('data:'))).toEqual([]);
    expect(pageErrors).toEqual([]);
    await context.close();
  });

  it('is linked from the dashboard header', async () => {
    const page = await signIn(browser, t.cp.httpUrl, 'admin', t.cp.adminToken);
    await page.click('#api-docs');
    await page.locator('.opblock').first().waitFor();
    expect(new URL(page.url()).pathname).toBe('/docs/');
    await page.context().close();
  });
});
