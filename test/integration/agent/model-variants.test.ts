/**
 * int8 and fp32 both ship; the device times both and runs the faster one that passed. A real control
 * plane (registry, SQLite, embedded broker) serves signed versions whose two variant files are tiny
 * real ONNX classifiers, one of them made slow on purpose (an input-dependent branch that costs
 * milliseconds and changes no prediction), so which one is faster is known, not left to noise. A real agent with real
 * onnxruntime sessions on the default execution providers ("auto") installs them.
 *
 * Shown: the CPU is the provider picked and reported here; both files are downloaded and verified;
 * the faster variant is chosen whichever it is, reported in the heartbeat (the control plane's
 * device record) and as an event; a variant whose file fails its hash is rejected and the other
 * serves; a restart loads the recorded choice without timing again; `inference.variant: fp32` is
 * honoured even when int8 is faster.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type AgentConfigInput,
  AgentConfigSchema,
  ApiClient,
  type Manifest,
  sha256Hex,
  type VariantChoice,
} from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../../agent/src/main.ts';
import { modelFileKey } from '../../../control-plane/src/models/model-registry.ts';
import { putFragment } from '../../helpers/agent-config-fixtures.ts';
import { testManifest } from '../../helpers/manifest-fixture.ts';
import { redBlueClassifier } from '../../helpers/tiny-onnx.ts';
import {
  createToken,
  LogCapture,
  startTestControlPlane,
  type TestControlPlane,
} from '../control-plane/helpers.ts';
import { waitUntil } from '../rollouts/fleet.ts';

const fast = (seed: number) => redBlueClassifier({ k: 0.05, padBytes: 64, padSeed: seed });
/** The same predictions, but the image tiled 64×64 times and averaged on every run: ~20 ms slower. */
const slow = (seed: number) => redBlueClassifier({ k: 0.05, padBytes: 64, padSeed: seed, slowTiles: 64 });

let t: TestControlPlane;
let api: ApiClient;
const files = new Map<number, { int8: Uint8Array; fp32: Uint8Array }>();

async function publish(version: number, int8: Uint8Array, fp32: Uint8Array): Promise<void> {
  files.set(version, { int8, fp32 });
  const base = testManifest(int8, { modelVersion: version, name: 'red-blue' });
  const manifest: Manifest = {
    ...base,
    architecture: { family: 'tiny-test', quantization: 'int8' },
    files: [
      ...base.files,
      { name: 'model.fp32.onnx', role: 'reference-model', sha256: sha256Hex(fp32), bytes: fp32.byteLength },
    ],
  };
  await api.publishModel(
    manifest,
    new Map([
      ['model.onnx', int8],
      ['model.fp32.onnx', fp32],
    ]),
  );
}

async function start(
  deviceId: string,
  logs: LogCapture,
  inference: AgentConfigInput['inference'] = {},
  more: Partial<AgentConfigInput> = {},
) {
  return startAgent(
    AgentConfigSchema.parse({
      ...more,
      controlPlaneUrl: t.cp.httpUrl,
      dataDir: join(t.dataDir, deviceId),
      enrollmentToken: await createToken(t),
      deviceId,
      trustedKeys: [t.cp.signingPublicKey],
      inference: { variantRuns: 15, ...inference },
      reportIntervalMs: 300,
      logLevel: 'debug',
    }),
    { logger: logs.logger, retry: { baseMs: 100, maxMs: 300 }, httpTimeoutMs: 2_000 },
  );
}

function choiceOf(agent: Agent): VariantChoice | undefined {
  return agent.stats().health.inference?.variant;
}

async function installed(agent: Agent, deviceId: string, version: number): Promise<VariantChoice> {
  await api.assign(version, { deviceIds: [deviceId] });
  await waitUntil(() => agent.currentModelVersion() === version, `version ${version} installed`, 30_000);
  return choiceOf(agent)!;
}

const timing = (choice: VariantChoice, variant: 'int8' | 'fp32') =>
  choice.timings.find((x) => x.variant === variant)!;

beforeAll(async () => {
  t = await startTestControlPlane();
  api = new ApiClient(t.cp.httpUrl, t.cp.adminToken);
  await publish(1, fast(1), slow(1));
  await publish(2, slow(2), fast(2));
  // Fast int8 whose stored bytes are then damaged (same length, another hash): fp32 must serve.
  await publish(3, fast(3), slow(3));
  const damaged = new Uint8Array(files.get(3)!.int8);
  damaged[damaged.length - 1] ^= 0xff;
  await t.cp.objects.put(modelFileKey(3, 'model.onnx'), damaged);
}, 60_000);

afterAll(async () => {
  await t?.stop();
});

describe('int8 and fp32 variants on the device', () => {
  const DEVICE = 'variants-01';
  const logs = new LogCapture();
  let agent: Agent;

  afterAll(async () => {
    await agent?.close();
  });

  it('reports the CPU as its execution provider after tensorrt and cuda fail to load', async () => {
    agent = await start(DEVICE, logs);
    expect(agent.stats().health.inference).toEqual({ executionProvider: 'cpu' });
    const fallback = await logs.waitFor((e) => e.msg === 'execution provider fallback: using cpu');
    expect((fallback.skipped as { provider: string }[]).map((s) => s.provider)).toEqual(['tensorrt', 'cuda']);
  }, 60_000);

  it('downloads and verifies both files, runs the faster one and reports both timings', async () => {
    const choice = await installed(agent, DEVICE, 1);
    expect(choice).toMatchObject({
      modelVersion: 1,
      variant: 'int8',
      reason: 'measured',
      executionProvider: 'cpu',
    });
    expect(timing(choice, 'int8').medianMs!).toBeLessThan(timing(choice, 'fp32').medianMs!);

    // Both variants are on disk, byte for byte what was published.
    const pointer = JSON.parse(await readFile(join(t.dataDir, DEVICE, 'active.json'), 'utf8'));
    const slot = join(t.dataDir, DEVICE, 'models', pointer.slot);
    const digest = async (name: string) =>
      createHash('sha256')
        .update(await readFile(join(slot, name)))
        .digest('hex');
    expect(await digest('model.onnx')).toBe(sha256Hex(files.get(1)!.int8));
    expect(await digest('model.fp32.onnx')).toBe(sha256Hex(files.get(1)!.fp32));

    // The fleet view: the heartbeat the control plane stored, and the event.
    await waitUntil(
      async () => (await t.cp.store.devices.get(DEVICE))?.health?.inference?.variant?.modelVersion === 1,
      'the choice in the reported state',
    );
    const health = (await t.cp.store.devices.get(DEVICE))!.health!;
    expect(health.inference).toMatchObject({ executionProvider: 'cpu', variant: { variant: 'int8' } });
    const event = await waitUntil(
      async () =>
        (await t.cp.store.events.list(DEVICE)).find(
          (e) => e.type === 'model-variant-chosen' && e.modelVersion === 1,
        ),
      'the variant event',
    );
    expect(event.message).toMatch(/version 1 runs int8 on cpu \(measured: int8 [\d.]+ ms, fp32 [\d.]+ ms\)/);
  }, 60_000);

  it('chooses fp32 when fp32 is the faster one', async () => {
    const choice = await installed(agent, DEVICE, 2);
    expect(choice).toMatchObject({ modelVersion: 2, variant: 'fp32', reason: 'measured' });
    expect(timing(choice, 'fp32').medianMs!).toBeLessThan(timing(choice, 'int8').medianMs!);
  }, 60_000);

  it('keeps the choice across a restart without timing again', async () => {
    await agent.close();
    const measuredBefore = logs.entries.filter((e) => e.msg === 'model variant chosen').length;
    agent = await start(DEVICE, logs);
    expect(agent.currentModelVersion()).toBe(2);
    expect(choiceOf(agent)).toMatchObject({ modelVersion: 2, variant: 'fp32', reason: 'persisted' });
    expect(logs.entries.filter((e) => e.msg === 'model variant chosen').length).toBe(measuredBefore);
  }, 60_000);

  it('rejects a variant whose file fails its hash and runs the other', async () => {
    const choice = await installed(agent, DEVICE, 3);
    // int8 would be faster, but its bytes are not the signed ones.
    expect(choice).toMatchObject({ modelVersion: 3, variant: 'fp32', reason: 'only' });
    expect(timing(choice, 'int8').failed).toMatch(/sha256/);
    expect(logs.entries.some((e) => e.msg === 'model variant rejected: its file failed verification')).toBe(
      true,
    );
  }, 60_000);
});

describe('inference.variant', () => {
  it('fp32 is honoured although int8 is faster', async () => {
    const DEVICE = 'variants-fp32';
    const logs = new LogCapture();
    const agent = await start(DEVICE, logs, { variant: 'fp32' });
    try {
      const choice = await installed(agent, DEVICE, 1);
      expect(choice).toMatchObject({ modelVersion: 1, variant: 'fp32', reason: 'config' });
      // Configured: not timed, and int8 not even loaded.
      expect(choice.timings).toEqual([{ variant: 'fp32', medianMs: null }]);
    } finally {
      await agent.close();
    }
  }, 60_000);
});

describe('a camera with its own model', () => {
  it('chooses its variant by the same rule and reports it with the camera', async () => {
    const DEVICE = 'variants-cams';
    const logs = new LogCapture();
    const cameras = (model?: number) => [
      { id: 'gate', type: 'synthetic' as const, fps: 5 },
      { id: 'yard', type: 'synthetic' as const, fps: 5, ...(model === undefined ? {} : { model }) },
    ];
    const agent = await start(DEVICE, logs, {}, { cameras: cameras() });
    try {
      await installed(agent, DEVICE, 1);
      expect((await putFragment(t, 'device', DEVICE, { cameras: cameras(2) })).status).toBe(200);
      const event = await waitUntil(
        async () =>
          (await t.cp.store.events.list(DEVICE)).find(
            (e) => e.type === 'model-variant-chosen' && e.cameraId === 'yard',
          ),
        "yard's variant event",
        30_000,
      );
      // Version 2's fp32 is the fast one; the device's own model stays on version 1, int8.
      expect(event).toMatchObject({ modelVersion: 2 });
      expect(event.message).toMatch(
        /^camera 'yard': version 2 runs fp32 on cpu \(measured: int8 [\d.]+ ms, fp32/,
      );
      expect(choiceOf(agent)).toMatchObject({ modelVersion: 1, variant: 'int8' });
    } finally {
      await agent.close();
    }
  }, 90_000);
});
