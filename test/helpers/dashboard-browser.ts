/**
 * Debian's Chromium driven by playwright-core, for the dashboard's browser tests: launch, sign in
 * through the real sign-in form, collect uncaught page errors, save screenshots (every one to
 * $TMPDIR/edgeloop-dashboard-screenshots, the README's to $EDGELOOP_SCREENSHOTS when set).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
/** Outside CI a machine without Chromium skips the browser tests; under CI they must run. */
export const hasChromium = existsSync(CHROMIUM) || Boolean(process.env.CI);
/** Kept after the run (one fixed folder, overwritten each time) so a failure can be looked at. */
export const SCREENSHOTS = join(tmpdir(), 'edgeloop-dashboard-screenshots');
const README_SHOTS = process.env.EDGELOOP_SCREENSHOTS;

export function launchChromium(): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Uncaught errors from any page's scripts; tests assert it stays empty. */
export const pageErrors: string[] = [];

export async function signIn(
  browser: Browser,
  baseUrl: string,
  name: string,
  password: string,
  viewport = { width: 1280, height: 860 },
): Promise<Page> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(`${baseUrl}/`);
  await page.fill('input[name=name]', name);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.locator('#who-role', { hasText: /\w/ }).waitFor();
  if (await page.isVisible('#sign-in')) throw new Error('the sign-in form is still showing');
  return page;
}

export async function screenshot(page: Page, name: string, readme = false): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  if (readme && README_SHOTS) {
    mkdirSync(README_SHOTS, { recursive: true });
    await page.screenshot({ path: join(README_SHOTS, `${name}.png`), fullPage: false });
  }
}

/**
 * Clicks a button whose action answers with `selector` (e.g. the page it leads to), and fails
 * with the error the page showed (its red toast) when the action was refused instead, rather
 * than only timing out.
 */
export async function clickFor(
  page: Page,
  button: string,
  selector: string,
  timeout = 30_000,
): Promise<void> {
  await page.click(button);
  await page.locator(`${selector}, .toast.bad`).first().waitFor({ timeout });
  const refused = page.locator('.toast.bad');
  if (!(await page.isVisible(selector)) && (await refused.count()) > 0) {
    throw new Error(`${button} was refused: ${await refused.first().textContent()}`);
  }
}
