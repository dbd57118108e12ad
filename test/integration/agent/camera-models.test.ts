/**
 * Per-camera models end to end: a real control plane (registry, SQLite, embedded broker) and a real
 * agent with three folder cameras running real onnxruntime sessions. The device runs version 1;
 * the remote configuration names the alias `candidate` (version 2) for one camera and a version
 * that fails its smoke test for another. Predictions arrive over MQTT from every camera, each
 * with the version that produced it: the named one, or the device's after a failed install (which
 * is reported with the camera's id). The device's own model — what rollouts target — stays put.
 * Moving the alias moves the camera, and a version no camera needs any more is released.
 */
import { join } from 'node:path';
import { AgentConfigSchema, ApiClient, apiRoutes } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../../agent/src/main.ts';
import { putFragment, writeColourFrames } from '../../helpers/agent-config-fixtures.ts';
import { testManifest } from '../../helpers/manifest-fixture.ts';
import { redBlueClassifier } from '../../helpers/tiny-onnx.ts';
import {
  createToken,
  LogCapture,
  startTestControlPlane,
  type TestControlPlane,
} from '../control-plane/helpers.ts';
import { waitUntil } from '../rollouts/fleet.ts';

const DEVICE = 'cam-models-01';
let t: TestControlPlane;
let api: ApiClient;
let agent: Agent;
let frames: string;
const agentLogs = new LogCapture();

const folder = (id: string, model?: number | string) => ({
  id,
  type: 'folder',
  path: frames,
  fps: 10,
  loop: true,
  ...(model === undefined ? {} : { model }),
});

/** The last prediction's model version of each camera, as the control plane received them. */
async function versionsSeen(): Promise<Record<string, number>> {
  return Object.fromEntries(
    (await t.cp.store.devices.cameraPredictions(DEVICE)).map((c) => [c.cameraId, c.prediction.modelVersion]),
  );
}

async function publish(version: number, model: Uint8Array, overrides = {}) {
  await api.publishModel(
    testManifest(model, { modelVersion: version, name: 'red-blue', ...overrides }),
    new Map([['model.onnx', model]]),
  );
}

beforeAll(async () => {
  t = await startTestControlPlane();
  api = new ApiClient(t.cp.httpUrl, t.cp.adminToken);
  frames = await writeColourFrames(join(t.dataDir, 'frames'), { 'a.jpg': { r: 200, g: 20, b: 20 } });
  await publish(1, redBlueClassifier({ k: 0.05 }));
  await publish(2, redBlueClassifier({ k: 0.02 }));
  // Raw scores declared as probabilities: verified and downloaded, then refused by the smoke test.
  await publish(3, redBlueClassifier({ k: 0.02, output: 'logits' }), {
    output: { name: 'logits', kind: 'probabilities' },
  });
  await api.call(apiRoutes.setAlias, {
    params: { name: 'candidate' },
    body: { protocol: 1, modelVersion: 2 },
  });

  agent = await startAgent(
    AgentConfigSchema.parse({
      controlPlaneUrl: t.cp.httpUrl,
      dataDir: join(t.dataDir, 'agent'),
      enrollmentToken: await createToken(t),
      deviceId: DEVICE,
      trustedKeys: [t.cp.signingPublicKey],
      cameras: [folder('gate'), folder('yard'), folder('dock')],
      predictions: { publish: 'rate', maxPerSecond: 20 },
      reportIntervalMs: 300,
      logLevel: 'info',
    }),
    { logger: agentLogs.logger, retry: { baseMs: 100, maxMs: 300 }, httpTimeoutMs: 2_000 },
  );
  await api.assign(1, { deviceIds: [DEVICE] });
  await waitUntil(() => agent.currentModelVersion() === 1, 'the device model installed', 20_000);
}, 40_000);

afterAll(async () => {
  await agent?.close();
  await t?.stop();
});

describe('a model per camera', () => {
  it("runs each camera's named model and reports it in every prediction", async () => {
    await waitUntil(async () => {
      const seen = await versionsSeen();
      return seen.gate === 1 && seen.yard === 1 && seen.dock === 1;
    }, 'every camera on the device model first');

    const res = await putFragment(t, 'device', DEVICE, {
      cameras: [folder('gate'), folder('yard', 'candidate'), folder('dock', 3)],
    });
    expect(res.status).toBe(200);

    await waitUntil(
      async () =>
        (await t.cp.store.events.list(DEVICE)).some(
          (e) => e.type === 'model-installed' && e.cameraId === 'yard',
        ),
      "yard's model installed",
      20_000,
    );
    const failed = await waitUntil(
      async () =>
        (await t.cp.store.events.list(DEVICE)).find(
          (e) => e.type === 'model-install-failed' && e.cameraId === 'dock',
        ),
      "dock's install reported as failed",
      20_000,
    );
    expect(failed.modelVersion).toBe(3);
    expect(failed.message).toMatch(/smoke test failed/);

    // Fresh predictions from every camera after the switch, each with the version that produced it.
    const since = new Date().toISOString();
    await waitUntil(
      async () => (await t.cp.store.devices.cameraPredictions(DEVICE)).every((c) => c.receivedAt > since),
      'new predictions from every camera',
    );
    expect(await versionsSeen()).toEqual({ gate: 1, yard: 2, dock: 1 });
    // The device's own model is untouched: that is what rollouts and targets move.
    expect(agent.currentModelVersion()).toBe(1);
    expect((await t.cp.store.devices.get(DEVICE))?.desiredVersion).toBe(1);
  }, 60_000);

  it('follows the alias when it moves; a camera on the device version shares its session', async () => {
    await api.call(apiRoutes.setAlias, {
      params: { name: 'candidate' },
      body: { protocol: 1, modelVersion: 1 },
    });
    await agentLogs.waitFor((e) => e.msg === 'camera model released' && e.modelVersion === 2);
    const since = new Date().toISOString();
    await waitUntil(
      async () => (await t.cp.store.devices.cameraPredictions(DEVICE)).every((c) => c.receivedAt > since),
      'new predictions from every camera',
    );
    expect(await versionsSeen()).toEqual({ gate: 1, yard: 1, dock: 1 });
  }, 30_000);
});
