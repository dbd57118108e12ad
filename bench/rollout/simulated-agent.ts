/**
 * One simulated device for the rollout benchmark: the agent's own update path — MQTT link,
 * state reporter, model installer with its two slots, downloader, verification, onnxruntime load
 * and smoke test, atomic pointer — wired as agent/src/main.ts wires it, minus camera and samples.
 */
import { mkdir } from 'node:fs/promises';
import { type Logger, PROTOCOL_VERSION, type TrustedKey } from '@edgeloop/shared';
import { ControlPlaneClient } from '../../agent/src/comms/control-plane-client.ts';
import { MqttLink } from '../../agent/src/comms/mqtt-link.ts';
import { StateReporter } from '../../agent/src/comms/state-reporter.ts';
import type { InferenceBackend } from '../../agent/src/inference/inference-backend.ts';
import { ActiveModel } from '../../agent/src/model/active-model.ts';
import { ModelInstaller } from '../../agent/src/model/model-installer.ts';
import { ModelStore } from '../../agent/src/model/model-store.ts';

export interface SimulatedAgent {
  deviceId: string;
  connected(): boolean;
  version(): number | null;
  /** True when the latest install attempt failed for good (a transient failure is retried). */
  gaveUp(): boolean;
  /** Publishes one prediction as the agent does (QoS 0) from the running model; false without one. */
  predict(frameId: string): boolean;
  close(): Promise<void>;
}

export async function startSimulatedAgent(o: {
  deviceId: string;
  secret: string;
  httpUrl: string;
  mqttUrl: string;
  dataDir: string;
  trustedKeys: readonly TrustedKey[];
  backend: InferenceBackend;
  logger: Logger;
}): Promise<SimulatedAgent> {
  await mkdir(o.dataDir, { recursive: true });
  const credentials = { deviceId: o.deviceId, secret: o.secret };
  const client = new ControlPlaneClient(o.httpUrl, credentials, { timeoutMs: 60_000 });
  const store = new ModelStore(o.dataDir);
  const active = new ActiveModel(o.logger);
  const link = new MqttLink({ url: o.mqttUrl, ...credentials, logger: o.logger, reconnectPeriodMs: 1_000 });
  const reporter = new StateReporter(
    link,
    () => ({ modelVersion: active.version(), framesProcessed: 0, samplesQueued: 0 }),
    3_600_000,
    o.logger,
  );
  let lastPhase: string | null = null;
  const installer = new ModelInstaller({
    store,
    backend: o.backend,
    client,
    active,
    trustedKeys: o.trustedKeys,
    threads: 1,
    logger: o.logger,
    retry: { baseMs: 500, maxMs: 5_000 },
    hooks: {
      status: (status, detail) => reporter.setStatus(status, detail),
      progress: (update) => {
        lastPhase = update.phase;
        reporter.setUpdate(update);
      },
      installed: () => {},
      failed: () => {},
    },
  });
  if ((await installer.restoreFromDisk()) === null) reporter.setStatus('idle');
  link.subscribeDesired((desired) => installer.setDesired(desired));
  reporter.start();
  return {
    deviceId: o.deviceId,
    connected: () => link.connected(),
    version: () => active.version(),
    gaveUp: () => lastPhase === 'failed',
    predict(frameId) {
      const modelVersion = active.version();
      if (modelVersion === null || !link.connected()) return false;
      link.publishPrediction({
        protocol: PROTOCOL_VERSION,
        modelVersion,
        frameId,
        capturedAt: new Date().toISOString(),
        topK: [
          { label: 'red', confidence: 0.9 },
          { label: 'blue', confidence: 0.1 },
        ],
        latencyMs: 12,
      });
      return true;
    },
    async close() {
      await installer.close();
      reporter.stop();
      await link.close(500);
      await active.close();
    },
  };
}
