/**
 * How fast the dashboard's Fleet page answers with a large fleet: a real control plane with N
 * devices (default 10,000) in its SQLite database, a share of them online with recent
 * predictions; times the fleet page's API call (getFleet) for the default page, a search, a sort to a late page and a
 * status filter, and (when Debian's chromium is installed) the time until the first table row is
 * on screen in a real browser.
 *
 *   npx edgeloop bench dashboard-fleet [--devices 10000] [--with-predictions 1000] [--reps 20] [--json]
 *
 * Prints one JSON object: {devices, queries: {name: {medianMs, p95Ms, bytes}}, browserFirstRowMs}.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startControlPlane } from '@edgeloop/control-plane';
import { apiRoutes, ControlPlaneConfigSchema, createLogger, routeUrl, sha256Hex } from '@edgeloop/shared';

const CHROMIUM = '/usr/bin/chromium';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

export async function benchMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      devices: { type: 'string', default: '10000' },
      'with-predictions': { type: 'string', default: '1000' },
      reps: { type: 'string', default: '20' },
      json: { type: 'boolean', default: false },
    },
  });
  const deviceCount = Number(values.devices);
  const predicting = Math.min(deviceCount, Number(values['with-predictions']));
  const reps = Number(values.reps);
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-bench-fleet-'));
  const cp = await startControlPlane(
    ControlPlaneConfigSchema.parse({
      dataDir: dir,
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { host: '127.0.0.1', port: 0 },
      logLevel: 'silent',
    }),
    { logger: createLogger({ level: 'silent' }) },
  );
  try {
    const tokenHash = sha256Hex(new TextEncoder().encode('bench-token'));
    const groups = ['store-north', 'store-south', 'warehouse', 'canary'];
    const now = new Date();
    const byGroup = new Map<string, string>();
    for (const group of groups) {
      const hash = `${tokenHash.slice(0, 60)}${groups.indexOf(group)}`;
      byGroup.set(group, hash);
      await cp.store.devices.createEnrollmentToken({
        tokenHash: hash,
        group,
        usesLeft: deviceCount,
        expiresAt: new Date(Date.now() + 3600_000).toISOString(),
      });
    }
    const seedStart = performance.now();
    for (let i = 0; i < deviceCount; i++) {
      const deviceId = `cam-${String(i).padStart(5, '0')}`;
      await cp.store.devices.enroll(
        byGroup.get(groups[i % groups.length])!,
        { deviceId, name: `Camera ${i}`, hardware: 'rpi4', secretHash: 'scrypt$bench' },
        now,
      );
      const at = new Date(Date.now() - (i % 600) * 1000).toISOString();
      if (i % 3 !== 0) await cp.store.devices.recordStatus(deviceId, { protocol: 1, online: true, at }, at);
      await cp.store.devices.recordReportedState(
        deviceId,
        {
          protocol: 1,
          modelVersion: null,
          status: 'running',
          agentVersion: '0.1.0',
          framesProcessed: i,
          samplesQueued: i % 7,
          reportedAt: at,
        },
        at,
      );
      if (i < predicting) {
        for (let k = 0; k < 20; k++) {
          const captured = new Date(Date.now() - (20 - k) * 200).toISOString();
          await cp.store.devices.recordPrediction(
            deviceId,
            {
              protocol: 1,
              modelVersion: 1,
              frameId: `f${k}`,
              capturedAt: captured,
              topK: [{ label: 'red', confidence: 0.4 + ((i + k) % 6) / 10 }],
              latencyMs: 4 + (k % 3),
            },
            captured,
          );
        }
      }
    }
    const seedMs = performance.now() - seedStart;

    const headers = { authorization: `Bearer ${cp.adminToken}` };
    const queries: Record<string, string> = {
      defaultPage: '',
      search: 'q=camera%2012',
      sortLastSeenPage100: `sort=lastSeenAt&dir=desc&page=${Math.max(0, Math.floor(deviceCount / 50) - 1)}`,
      onlineInGroup: 'status=online&group=warehouse',
    };
    const results: Record<string, { medianMs: number; p95Ms: number; bytes: number; matching: number }> = {};
    for (const [name, query] of Object.entries(queries)) {
      const times: number[] = [];
      let bytes = 0;
      let matching = 0;
      for (let r = 0; r < reps; r++) {
        const started = performance.now();
        const res = await fetch(`${cp.httpUrl}${routeUrl(apiRoutes.getFleet)}?${query}`, { headers });
        const text = await res.text();
        times.push(performance.now() - started);
        if (!res.ok) throw new Error(`fleet ${query}: ${res.status} ${text}`);
        bytes = text.length;
        matching = (JSON.parse(text) as { matching: number }).matching;
      }
      times.sort((a, b) => a - b);
      results[name] = {
        medianMs: Math.round(percentile(times, 0.5) * 10) / 10,
        p95Ms: Math.round(percentile(times, 0.95) * 10) / 10,
        bytes,
        matching,
      };
    }

    let browserFirstRowMs: number | null = null;
    if (existsSync(CHROMIUM)) {
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      });
      try {
        const signIn = await fetch(`${cp.httpUrl}/ui/sign-in`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'admin', password: cp.adminToken }),
        });
        const [name, value] = (signIn.headers.get('set-cookie') ?? '').split(';')[0].split('=');
        const times: number[] = [];
        for (let r = 0; r < 5; r++) {
          const context = await browser.newContext();
          await context.addCookies([{ name, value, url: cp.httpUrl }]);
          const page = await context.newPage();
          const started = performance.now();
          await page.goto(`${cp.httpUrl}/ui/#/fleet`);
          await page.waitForSelector('#fleet-table tbody tr');
          times.push(performance.now() - started);
          await context.close();
        }
        times.sort((a, b) => a - b);
        browserFirstRowMs = Math.round(percentile(times, 0.5));
      } finally {
        await browser.close();
      }
    }

    const out = {
      devices: deviceCount,
      devicesWithPredictions: predicting,
      seedSeconds: Math.round(seedMs / 100) / 10,
      reps,
      queries: results,
      browserFirstRowMs,
    };
    process.stdout.write(`${JSON.stringify(out, null, values.json ? 0 : 2)}\n`);
    return 0;
  } finally {
    await cp.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchMain(process.argv.slice(2)).then((code) => process.exit(code));
}
