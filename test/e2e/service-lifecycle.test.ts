/**
 * The agent and the control plane as services: real `edgeloop` processes, stopped by signals as
 * systemd and docker stop them, and started into a port somebody else holds. A stop is clean when
 * it exits 0 within 2 s having logged its last line, leaves no capture process, no half-written
 * sample, and tells the control plane (the final state report, then offline); a start-up error is
 * a non-zero exit with a message, soon, with nothing left running or listening.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { ApiClient, apiRoutes, TEMP_SUFFIX } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliProcess } from '../helpers/cli-process.ts';
import { testManifest } from '../helpers/manifest-fixture.ts';
import { tempDir } from '../integration/control-plane/helpers.ts';
import { fleetModel, freePort, waitUntil } from '../integration/rollouts/fleet.ts';

const STOP_BUDGET_MS = 2_000;
/** Unique to this file, so leftover capture processes can be found by their command line. */
const TEST_SOURCE = 'testsrc=size=96x72:rate=10';

function captureProcesses(): number[] {
  return listProcesses()
    .filter((p) => p.cmdline.includes(TEST_SOURCE))
    .map((p) => p.pid);
}

function listProcesses(): { pid: number; cmdline: string }[] {
  const found: { pid: number; cmdline: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      found.push({ pid: Number(entry), cmdline: readFileSync(`/proc/${entry}/cmdline`, 'utf8') });
    } catch {
      // Gone between readdir and read.
    }
  }
  return found;
}

async function holdPort(): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const portOf = (server: Server) => (server.address() as { port: number }).port;

/** Resolves when nothing listens on the port any more (it can be bound again). */
async function portFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `edgeloop health` (the containers' HEALTHCHECK) against a URL: its exit status. */
async function healthProbe(flag: '--agent' | '--control-plane', url: string): Promise<number | null> {
  return (await new CliProcess('health', [flag, url, '--timeout-ms', '3000']).exited).code;
}

function startControlPlane(dataDir: string, httpPort: number, mqttPort: number): CliProcess {
  return new CliProcess('control-plane', [
    '--data-dir',
    dataDir,
    '--http-port',
    String(httpPort),
    '--mqtt-port',
    String(mqttPort),
    '--host',
    '127.0.0.1',
  ]);
}

describe('edgeloop agent and control-plane as services', () => {
  const dir = tempDir();
  const cpDir = join(dir.path, 'control-plane');
  const agentDir = join(dir.path, 'agent');
  const configPath = join(dir.path, 'agent.json');
  const deviceId = 'cam-lifecycle';
  let httpPort: number;
  let mqttPort: number;
  let cp: CliProcess;
  let api: ApiClient;
  let agentConfig: Record<string, unknown>;
  const started: CliProcess[] = [];
  const agent = (config = configPath) => {
    const p = new CliProcess('agent', ['--config', config]);
    started.push(p);
    return p;
  };
  const device = () => api.call(apiRoutes.getDevice, { params: { id: deviceId } });

  beforeAll(async () => {
    httpPort = await freePort();
    mqttPort = await freePort();
    cp = startControlPlane(cpDir, httpPort, mqttPort);
    started.push(cp);
    await cp.waitFor((l) => l.msg === 'Press Ctrl+C to stop.', 'control plane start');
    const adminToken = (await readFile(join(cpDir, 'admin-token'), 'utf8')).trim();
    api = new ApiClient(`http://127.0.0.1:${httpPort}`, adminToken);
    const key = JSON.parse(await readFile(join(cpDir, 'signing-key.json'), 'utf8'));
    // A 50/50 model: every frame is a low-confidence sample, so uploads are running at each stop.
    const model = fleetModel('collapsed', 1);
    await api.publishModel(testManifest(model, { modelVersion: 1 }), new Map([['model.onnx', model]]));
    const { token } = await api.createEnrollmentToken({ uses: 1 });
    agentConfig = {
      controlPlaneUrl: api.baseUrl,
      dataDir: agentDir,
      enrollmentToken: token,
      deviceId,
      trustedKeys: [{ keyId: key.keyId, publicKeyPem: key.publicKeyPem }],
      camera: { type: 'ffmpeg', input: ['-re', '-f', 'lavfi', '-i', TEST_SOURCE] },
      samples: { maxPerMinute: 600 },
      http: { host: '127.0.0.1', port: await freePort() },
      // Long: only the reports at start, on changes and at the stop reach the control plane.
      reportIntervalMs: 600_000,
      logLevel: 'info',
    };
    await writeFile(configPath, JSON.stringify(agentConfig));
  });

  afterAll(async () => {
    for (const p of started) await p.kill();
    dir.remove();
  });

  it('an agent with a live ffmpeg camera stops cleanly, 5 times in a row', async () => {
    const localUrl = `http://127.0.0.1:${(agentConfig.http as { port: number }).port}`;
    const stopTimes: number[] = [];
    for (const [run, signal] of (['SIGTERM', 'SIGINT', 'SIGTERM', 'SIGINT', 'SIGTERM'] as const).entries()) {
      const a = agent();
      await a.waitFor((l) => l.msg === 'agent started', `run ${run}: agent started`);
      if (run === 0) await api.assign(1, { deviceIds: [deviceId] });
      // Classifying frames from the capture process: camera, worker and model are all live.
      await waitUntil(
        async () => (await fetch(`${localUrl}/prediction`).catch(() => null))?.ok,
        'a prediction',
      );
      await waitUntil(async () => (await device()).online, 'the device online');
      expect(captureProcesses().length, 'one ffmpeg capture process').toBe(1);
      if (run === 0) expect(await healthProbe('--agent', localUrl)).toBe(0);
      const framesBefore = (await device()).framesProcessed;

      const exit = await a.stop(signal);
      if (run === 0) expect(await healthProbe('--agent', localUrl), 'health of a stopped agent').toBe(1);
      expect(exit, `run ${run} (${signal})\n${a.tail()}`).toMatchObject({ code: 0, signal: null });
      expect(exit.ms, `run ${run}: stop time`).toBeLessThan(STOP_BUDGET_MS);
      stopTimes.push(exit.ms);
      expect(a.logged('agent stopped'), `run ${run}: "agent stopped" logged`).toBe(true);
      expect(captureProcesses(), 'capture process left behind').toEqual([]);

      // Flushed: the last report (more frames than the control plane knew) and then offline.
      const after = await waitUntil(async () => {
        const d = await device();
        return !d.online && d;
      }, 'the device offline');
      expect(after.framesProcessed).toBeGreaterThan(framesBefore);
      // The sample queue holds only complete entries: no temp file, no image without metadata.
      const files = await readdir(join(agentDir, 'queue'));
      expect(files.filter((f) => f.endsWith(TEMP_SUFFIX))).toEqual([]);
      const jpegs = files.filter((f) => f.endsWith('.jpg')).map((f) => f.slice(0, -4));
      expect(jpegs.filter((key) => !files.includes(`${key}.json`))).toEqual([]);
    }
    console.log(`agent stops (signal to exit): ${stopTimes.join(', ')} ms`);
    // Samples uploaded across the five runs were each stored once.
    const samples = await api.allSamples();
    expect(samples.length).toBeGreaterThan(0);
    expect(new Set(samples.map((s) => s.frameId)).size).toBe(samples.length);
  }, 300_000);

  it('an agent whose local endpoint port is taken exits non-zero and leaves nothing running', async () => {
    const holder = await holdPort();
    try {
      const clashing = join(dir.path, 'agent-clash.json');
      await writeFile(
        clashing,
        JSON.stringify({ ...agentConfig, http: { host: '127.0.0.1', port: portOf(holder) } }),
      );
      const a = agent(clashing);
      const spawnedAt = performance.now();
      const exit = await a.exited;
      const ms = performance.now() - spawnedAt;
      expect(exit.code, a.tail()).toBe(1);
      expect(a.lines.some((l) => l.stream === 'stderr' && /EADDRINUSE/.test(l.msg ?? ''))).toBe(true);
      // It got as far as MQTT before the clash (what used to stay connected)...
      expect(a.logged('mqtt connected'), a.tail()).toBe(true);
      // ...and the broker saw it go: the device is offline, no capture process is left.
      await waitUntil(async () => !(await device()).online, 'the device offline');
      expect(captureProcesses()).toEqual([]);
      console.log(`agent port clash: exit ${exit.code} after ${Math.round(ms)} ms from spawn`);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  }, 120_000);

  for (const taken of ['http', 'mqtt'] as const) {
    it(`a control plane whose ${taken} port is taken exits non-zero and leaves nothing listening`, async () => {
      const holder = await holdPort();
      try {
        const other = await freePort();
        const [h, m] = taken === 'http' ? [portOf(holder), other] : [other, portOf(holder)];
        const second = startControlPlane(join(dir.path, `cp-${taken}`), h, m);
        started.push(second);
        const exit = await second.exited;
        expect(exit.code, second.tail()).toBe(1);
        expect(
          second.lines.some((l) => /cannot listen.*EADDRINUSE/.test(l.msg ?? '')),
          second.tail(),
        ).toBe(true);
        expect(await portFree(other), 'the other port was released').toBe(true);
        console.log(`control plane ${taken} port clash: exit ${exit.code} after ${exit.ms} ms from spawn`);
      } finally {
        await new Promise((resolve) => holder.close(resolve));
      }
    }, 120_000);
  }

  it('the control plane stops cleanly on SIGTERM and on SIGINT', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      if (cp.child.exitCode !== null) {
        cp = startControlPlane(cpDir, httpPort, mqttPort);
        started.push(cp);
        await cp.waitFor((l) => l.msg === 'Press Ctrl+C to stop.', 'control plane restart');
      }
      if (signal === 'SIGTERM') expect(await healthProbe('--control-plane', api.baseUrl)).toBe(0);
      const exit = await cp.stop(signal);
      expect(exit, `${signal}\n${cp.tail()}`).toMatchObject({ code: 0, signal: null });
      expect(exit.ms, `${signal}: stop time`).toBeLessThan(STOP_BUDGET_MS);
      expect(cp.lines.some((l) => l.msg === 'control plane stopped')).toBe(true);
      expect(await portFree(httpPort)).toBe(true);
      expect(await portFree(mqttPort)).toBe(true);
    }
    expect(await healthProbe('--control-plane', api.baseUrl), 'health of a stopped control plane').toBe(1);
  }, 120_000);
});
