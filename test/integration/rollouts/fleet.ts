/**
 * A real control plane (embedded broker, SQLite, HTTP on fixed loopback ports so it can restart
 * in place) and a few real agents in this process: onnxruntime on tiny models, synthetic cameras,
 * MQTT over loopback. Rollout tests drive it through the admin ApiClient, as an operator would.
 */
import { join } from 'node:path';
import { type Agent, startAgent } from '@edgeloop/agent';
import {
  type AgentConfig,
  AgentConfigSchema,
  ApiClient,
  createLogger,
  type Rollout,
  type RolloutStrategyInput,
} from '@edgeloop/shared';
import { freePort } from '../../helpers/free-port.ts';
import { testManifest } from '../../helpers/manifest-fixture.ts';
import { reportIfSlow } from '../../helpers/report-slow.ts';
import { buildTinyClassifier } from '../../helpers/tiny-onnx.ts';
import {
  createToken,
  startTestControlPlane,
  type TestControlPlane,
  type TestControlPlaneOverrides,
} from '../control-plane/helpers.ts';

export { freePort };

export async function waitUntil<T>(
  probe: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Labels ['red', 'blue']. `confident` models ignore the image and are ~0.998 sure of 'red'; a
 * `collapsed` one is 0.5 / 0.5 on every frame (its field confidence collapses); `nan` emits NaN.
 */
export function fleetModel(
  kind: 'confident' | 'collapsed' | 'nan',
  variant: number,
  padBytes = 0,
): Uint8Array {
  const bias = kind === 'confident' ? [3 + variant / 1000, -3] : kind === 'nan' ? [Number.NaN, 0] : [0, 0];
  return buildTinyClassifier({
    width: 32,
    height: 32,
    weights: [
      [0, 0],
      [0, 0],
      [0, 0],
    ],
    bias,
    padBytes,
    padSeed: variant,
  });
}

/** Fast strategy for tests: a canary, then everyone; short soak; gates that see field confidence. */
export function fastStrategy(overrides: RolloutStrategyInput = {}): RolloutStrategyInput {
  return {
    waves: [{ devices: 1 }, { percent: 100 }],
    soakSeconds: 1.5,
    deviceTimeoutSeconds: 30,
    gates: { minPredictions: 5 },
    ...overrides,
  };
}

export interface Fleet {
  t: TestControlPlane;
  api: ApiClient;
  ids: string[];
  agents: Map<string, Agent>;
  startAgent(id: string): Promise<Agent>;
  /** Enrolls a device into `group` (a token of that group; `reenroll` for a wiped one) and starts it. */
  addAgent(id: string, group: string, options?: { reenroll?: boolean }): Promise<Agent>;
  stopAgent(id: string): Promise<void>;
  publish(version: number, model: Uint8Array): Promise<void>;
  restartControlPlane(): Promise<void>;
  rolloutUntil(id: string, done: (r: Rollout) => boolean, what: string, timeoutMs?: number): Promise<Rollout>;
  reported(id: string): Promise<{ version: number | null; status: string | null }>;
  close(): Promise<void>;
}

const silent = createLogger({ level: 'silent' });

export async function startFleet(size: number, overrides: TestControlPlaneOverrides = {}): Promise<Fleet> {
  const t = await startTestControlPlane({
    http: { host: '127.0.0.1', port: await freePort() },
    mqtt: { host: '127.0.0.1', port: await freePort() },
    rollouts: { tickMs: 100 },
    logLevel: 'info',
    ...overrides,
  });
  let api = new ApiClient(t.cp.httpUrl, t.cp.adminToken);
  const ids = Array.from({ length: size }, (_, i) => `cam-${String(i).padStart(2, '0')}`);
  const configs = new Map<string, AgentConfig>();
  const agents = new Map<string, Agent>();
  // size 0: a test adds agents itself (addAgent) once it is ready for them.
  const token = size > 0 ? await createToken(t, { uses: size }) : '';
  const configure = (id: string, enrollmentToken: string, seed: number) =>
    configs.set(
      id,
      AgentConfigSchema.parse({
        controlPlaneUrl: t.cp.httpUrl,
        dataDir: join(t.dataDir, 'agents', id),
        enrollmentToken,
        deviceId: id,
        trustedKeys: [t.cp.signingPublicKey],
        camera: { type: 'synthetic', width: 48, height: 48, fps: 8, seed },
        reportIntervalMs: 300,
        // Shadow mode on: every candidate is compared with the active model on 4 new frames.
        updates: { shadowFrames: 4, shadowTimeoutMs: 3_000 },
        logLevel: 'silent',
      }),
    );
  for (const id of ids) configure(id, token, ids.indexOf(id) + 1);

  const fleet: Fleet = {
    t,
    get api() {
      return api;
    },
    ids,
    agents,
    async startAgent(id) {
      const agent = await startAgent(configs.get(id)!, {
        logger: silent,
        retry: { baseMs: 100, maxMs: 500 },
        httpTimeoutMs: 2_000,
      });
      agents.set(id, agent);
      return agent;
    },
    async addAgent(id, group, options = {}) {
      configure(id, await createToken(t, { uses: 1, group, ...options }), configs.size + 1);
      return fleet.startAgent(id);
    },
    async stopAgent(id) {
      await agents.get(id)?.close();
      agents.delete(id);
    },
    async publish(version, model) {
      await api.publishModel(
        testManifest(model, { modelVersion: version, name: `fleet-v${version}` }),
        new Map([['model.onnx', model]]),
      );
    },
    async restartControlPlane() {
      await t.restart();
      api = new ApiClient(t.cp.httpUrl, t.cp.adminToken);
    },
    async rolloutUntil(id, done, what, timeoutMs = 20_000) {
      let last: Rollout | null = null;
      try {
        return await waitUntil(
          async () => {
            last = await api.getRollout(id).catch(() => last);
            return last && done(last) ? last : null;
          },
          what,
          timeoutMs,
        );
      } catch (err) {
        // Say where it got stuck: rollout state, waves and each device's path.
        const r = last as Rollout | null;
        const where = r && {
          state: r.state,
          reason: r.reason,
          waves: r.waves.map((w) => ({ state: w.state, checks: w.checks })),
          devices: r.devices.map(
            (d) => `${d.deviceId}: ${d.history.map((h) => `${h.state}(${h.reason ?? ''})`).join(' → ')}`,
          ),
        };
        throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(where, null, 1)}`);
      }
    },
    async reported(id) {
      const d = await t.cp.store.devices.get(id);
      return { version: d?.reportedVersion ?? null, status: d?.status ?? null };
    },
    async close() {
      for (const id of [...agents.keys()]) await reportIfSlow(`stop agent ${id}`, fleet.stopAgent(id));
      await t.stop();
    },
  };
  for (const id of ids) await fleet.startAgent(id);
  return fleet;
}
