/**
 * How fast the dashboard's Fleet page answers with a large fleet: a real control plane with N
 * devices (default 10,000) in its SQLite database (or a throwaway Postgres 15 with `--store
 * postgres`), a share of them online with recent predictions; times the fleet page's API call
 * (getFleet) for the default page, a search, a sort to a late page, a status filter and a tag
 * filter, optionally while predictions keep arriving (`--stream N` per second, written through the
 * store as ingestion does), and (when Debian's chromium is installed) the time until the first
 * table row is on screen in a real browser.
 *
 *   npx edgeloop bench dashboard-fleet [--devices 10000] [--with-predictions 1000] [--reps 50]
 *     [--store sqlite|postgres] [--stream 0] [--no-browser] [--json]
 *
 * Prints one JSON object: {devices, store, queries: {name: {medianMs, p95Ms, p99Ms, bytes}}, browserFirstRowMs}.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Store, startControlPlane } from '@edgeloop/control-plane';
import {
  apiRoutes,
  ControlPlaneConfigSchema,
  createLogger,
  type Prediction,
  routeUrl,
  sha256Hex,
} from '@edgeloop/shared';
import { type PostgresCluster, startPostgres } from '../test/helpers/postgres-cluster.ts';

const CHROMIUM = '/usr/bin/chromium';

const SEED_BATCH = 250;
const STREAM_WRITERS = 8;

function prediction(deviceIndex: number, k: number, capturedAt: string): Prediction {
  return {
    protocol: 1,
    modelVersion: 1,
    frameId: `f${k}`,
    capturedAt,
    topK: [{ label: 'red', confidence: 0.4 + ((deviceIndex + k) % 6) / 10 }],
    latencyMs: 4 + (k % 3),
  };
}

const deviceIdOf = (i: number) => `cam-${String(i).padStart(5, '0')}`;

/** Device i: enrolled with two tags, two thirds online, running, 20 predictions when `predicting`. */
async function seedDevice(store: Store, i: number, tokenHash: string, now: Date, predicting: boolean) {
  const deviceId = deviceIdOf(i);
  await store.devices.enroll(
    tokenHash,
    {
      deviceId,
      name: `Camera ${i}`,
      hardware: 'rpi4',
      secretHash: 'hmac-sha256$bench',
      tags: [`floor-${i % 10}`, i % 2 === 0 ? 'indoor' : 'outdoor'],
    },
    now,
  );
  const at = new Date(Date.now() - (i % 600) * 1000).toISOString();
  if (i % 3 !== 0) await store.devices.recordStatus(deviceId, { protocol: 1, online: true, at }, at);
  await store.devices.recordReportedState(
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
  if (!predicting) return;
  for (let k = 0; k < 20; k++) {
    const captured = new Date(Date.now() - (20 - k) * 200).toISOString();
    await store.devices.recordPrediction(deviceId, prediction(i, k, captured), captured);
  }
}

/**
 * Writes `perSecond` predictions a second for random devices through the store, as ingestion
 * does, from STREAM_WRITERS concurrent writers (Postgres serves them on several connections),
 * until stopped; resolves to how many were written in how long.
 */
function streamPredictions(store: Store, deviceCount: number, perSecond: number) {
  let stopped = false;
  let written = 0;
  const started = performance.now();
  const due = () => Math.floor(((performance.now() - started) / 1000) * perSecond);
  const writer = async () => {
    while (!stopped) {
      if (written >= due()) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      const n = written++;
      const i = Math.floor(Math.random() * deviceCount);
      const at = new Date().toISOString();
      await store.devices.recordPrediction(deviceIdOf(i), prediction(i, n, at), at);
    }
  };
  const done = Promise.all(Array.from({ length: STREAM_WRITERS }, writer)).then(() => ({
    written,
    seconds: (performance.now() - started) / 1000,
  }));
  return {
    stop: async () => {
      stopped = true;
      return done;
    },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

export async function benchMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      devices: { type: 'string', default: '10000' },
      'with-predictions': { type: 'string', default: '1000' },
      reps: { type: 'string', default: '50' },
      store: { type: 'string', default: 'sqlite' },
      stream: { type: 'string', default: '0' },
      'no-browser': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if (values.store !== 'sqlite' && values.store !== 'postgres') {
    process.stderr.write(`--store must be sqlite or postgres, not '${values.store}'\n`);
    return 2;
  }
  const streamPerSecond = Number(values.stream);
  const deviceCount = Number(values.devices);
  const predicting = Math.min(deviceCount, Number(values['with-predictions']));
  const reps = Number(values.reps);
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-bench-fleet-'));
  let postgres: PostgresCluster | null = null;
  if (values.store === 'postgres') postgres = await startPostgres();
  const cp = await startControlPlane(
    ControlPlaneConfigSchema.parse({
      dataDir: dir,
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { host: '127.0.0.1', port: 0 },
      logLevel: 'silent',
      ...(postgres ? { store: { type: 'postgres', url: postgres.url } } : {}),
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
    // Seeded in transactions of SEED_BATCH devices: one fsync per batch instead of per write.
    for (let first = 0; first < deviceCount; first += SEED_BATCH) {
      await cp.store.transaction(async (tx) => {
        for (let i = first; i < Math.min(deviceCount, first + SEED_BATCH); i++) {
          await seedDevice(tx, i, byGroup.get(groups[i % groups.length])!, now, i < predicting);
        }
      });
    }
    const seedMs = performance.now() - seedStart;

    const headers = { authorization: `Bearer ${cp.adminToken}` };
    const queries: Record<string, string> = {
      defaultPage: '',
      search: 'q=camera%2012',
      sortLastSeenPage100: `sort=lastSeenAt&dir=desc&page=${Math.max(0, Math.floor(deviceCount / 50) - 1)}`,
      onlineInGroup: 'status=online&group=warehouse',
      tagsSortedByName: 'tags=outdoor,floor-3&sort=name&dir=desc',
    };
    const results: Record<
      string,
      { medianMs: number; p95Ms: number; p99Ms: number; bytes: number; matching: number }
    > = {};
    const stream = streamPerSecond > 0 ? streamPredictions(cp.store, deviceCount, streamPerSecond) : null;
    for (const [name, query] of Object.entries(queries)) {
      const times: number[] = [];
      let bytes = 0;
      let matching = 0;
      // One untimed request first: the first of each query shape pays for planning and caches.
      for (let r = -1; r < reps; r++) {
        const started = performance.now();
        const res = await fetch(`${cp.httpUrl}${routeUrl(apiRoutes.getFleet)}?${query}`, { headers });
        const text = await res.text();
        if (r >= 0) times.push(performance.now() - started);
        if (!res.ok) throw new Error(`fleet ${query}: ${res.status} ${text}`);
        bytes = text.length;
        matching = (JSON.parse(text) as { matching: number }).matching;
      }
      times.sort((a, b) => a - b);
      results[name] = {
        medianMs: Math.round(percentile(times, 0.5) * 10) / 10,
        p95Ms: Math.round(percentile(times, 0.95) * 10) / 10,
        p99Ms: Math.round(percentile(times, 0.99) * 10) / 10,
        bytes,
        matching,
      };
    }

    const streamed = await stream?.stop();

    let browserFirstRowMs: number | null = null;
    if (!values['no-browser'] && existsSync(CHROMIUM)) {
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
      store: values.store,
      devicesWithPredictions: predicting,
      predictionsStreamedPerSec: streamed ? Math.round(streamed.written / streamed.seconds) : 0,
      seedSeconds: Math.round(seedMs / 100) / 10,
      reps,
      queries: results,
      browserFirstRowMs,
    };
    process.stdout.write(`${JSON.stringify(out, null, values.json ? 0 : 2)}\n`);
    return 0;
  } finally {
    await cp.close();
    await postgres?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchMain(process.argv.slice(2)).then((code) => process.exit(code));
}
