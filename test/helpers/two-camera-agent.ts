/**
 * A real control plane and one real agent with several ffmpeg cameras: `front` films a red test
 * card, `back` a blue one (so each camera's answers show which camera they came from), and
 * optionally `broken`, whose source does not exist. The agent runs the red/blue tiny model,
 * published and assigned through the API as an operator would.
 */
import { join } from 'node:path';
import { type Agent, startAgent } from '@edgeloop/agent';
import { AgentConfigSchema, ApiClient, createLogger } from '@edgeloop/shared';
import type { Camera } from '../../agent/src/camera/camera.ts';
import { createCamera } from '../../agent/src/camera/create-camera.ts';
import type { ProcessCamera } from '../../agent/src/camera/process-camera.ts';
import { createSharpImageCodec } from '../../agent/src/image/sharp-image.ts';
import {
  createToken,
  startTestControlPlane,
  type TestControlPlane,
} from '../integration/control-plane/helpers.ts';
import { testManifest } from './manifest-fixture.ts';
import { redBlueClassifier } from './tiny-onnx.ts';

export const DEVICE_ID = 'cam-two';

function colourSource(colour: string): string[] {
  return ['-re', '-f', 'lavfi', '-i', `color=c=${colour}:size=64x48:rate=10`];
}

export interface TwoCameraAgent {
  t: TestControlPlane;
  api: ApiClient;
  agent: Agent;
  /** The agent's capture processes by camera id (to kill one). */
  cameras: Record<string, ProcessCamera>;
  close(): Promise<void>;
}

export async function startTwoCameraAgent(options: { broken?: boolean } = {}): Promise<TwoCameraAgent> {
  const t = await startTestControlPlane();
  const api = new ApiClient(t.cp.httpUrl, t.cp.adminToken);
  const model = redBlueClassifier({ k: 0.05 });
  await api.publishModel(
    testManifest(model, { modelVersion: 1, name: 'red-blue' }),
    new Map([['model.onnx', model]]),
  );
  const entries = [
    { id: 'front', type: 'ffmpeg', input: colourSource('red'), stallTimeoutMs: 5_000 },
    { id: 'back', type: 'ffmpeg', input: colourSource('blue'), stallTimeoutMs: 5_000 },
    ...(options.broken
      ? [{ id: 'broken', type: 'ffmpeg', input: ['-f', 'lavfi', '-i', 'nosuchsource=size=64x48'] }]
      : []),
  ];
  const config = AgentConfigSchema.parse({
    controlPlaneUrl: t.cp.httpUrl,
    dataDir: join(t.dataDir, 'agent'),
    enrollmentToken: await createToken(t),
    deviceId: DEVICE_ID,
    trustedKeys: [t.cp.signingPublicKey],
    cameras: entries,
    predictions: { publish: 'rate', maxPerSecond: 20 },
    liveFrame: { intervalSeconds: 0.5 },
    reportIntervalMs: 300,
    logLevel: 'silent',
  });
  // The same cameras the agent would build, kept here so a test can reach their processes.
  const codec = createSharpImageCodec();
  const cameras: Record<string, ProcessCamera> = {};
  for (const entry of config.cameras ?? []) {
    const { id, frames: _f, samples: _s, ...camera } = entry;
    cameras[id] = createCamera(camera, codec) as ProcessCamera;
  }
  const agent = await startAgent(config, {
    logger: createLogger({ level: 'silent' }),
    cameras: cameras as Record<string, Camera>,
    retry: { baseMs: 100, maxMs: 500 },
    httpTimeoutMs: 2_000,
  });
  await api.assign(1, { deviceIds: [DEVICE_ID] });
  return {
    t,
    api,
    agent,
    cameras,
    async close() {
      await agent.close();
      await t.stop();
    },
  };
}
