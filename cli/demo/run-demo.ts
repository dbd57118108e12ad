/**
 * The whole loop on one machine, with the real parts: control plane (HTTP + embedded MQTT broker +
 * SQLite), N agents with synthetic cameras running onnxruntime, and the trainer.
 *
 *   dataset → train v1 → publish → roll out over MQTT → agents classify camera frames →
 *   low-confidence frames come back → label → train v2 with them → roll out → measure
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Agent, startAgent } from '@edgeloop/agent';
import { type ControlPlane, startControlPlane } from '@edgeloop/control-plane';
import {
  AgentConfigSchema,
  ControlPlaneConfigSchema,
  createLogger,
  EdgeloopError,
  type Logger,
  LoopApiClient,
  SYNTHETIC_CLASSES,
} from '@edgeloop/shared';
import {
  downloadLabelledSamples,
  formatQuantization,
  generateSyntheticDataset,
  publishModelDir,
  type QuantizationMetrics,
  quantizeModelDir,
  type TrainMetrics,
  type TrainProgress,
  train,
} from '@edgeloop/trainer';
import { autoLabel } from './auto-labeller.ts';
import type { DemoOptions, DemoSummary, DemoVersionSummary } from './demo-options.ts';
import { FieldAccuracy } from './field-accuracy.ts';

export type Report = (line: string) => void;

export interface DemoHandle {
  summary: DemoSummary;
  controlPlane: ControlPlane;
  agents: Agent[];
  /** Stops agents and control plane. */
  close(): Promise<void>;
}

async function waitFor(
  what: string,
  timeoutSec: number,
  check: () => Promise<boolean> | boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutSec * 1000;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new EdgeloopError('INTERNAL', `demo: timed out after ${timeoutSec}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

function trainProgressReporter(report: Report, version: number): (p: TrainProgress) => void {
  let lastEpoch = 0;
  return (p) => {
    if (p.phase === 'evaluate' && p.epoch && p.epoch !== lastEpoch) {
      lastEpoch = p.epoch;
      report(
        `  v${version} epoch ${p.epoch}/${p.epochs}: loss ${p.loss?.toFixed(3)} val_acc ${((p.valAccuracy ?? 0) * 100).toFixed(0)}%`,
      );
    } else if (p.phase === 'export') report(`  v${version}: exporting to ONNX, checking it in onnxruntime`);
  };
}

/** Marks a folder as the demo's own, so a later run may wipe it. */
const WORK_DIR_MARKER = '.edgeloop-demo';

/** Empties the work folder — only if it is empty, missing, or one a previous demo run made. */
async function resetWorkDir(dir: string): Promise<void> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  if (entries.length > 0 && !entries.includes(WORK_DIR_MARKER)) {
    throw new EdgeloopError(
      'VALIDATION_FAILED',
      `--work-dir ${dir} is not empty and was not made by the demo; choose an empty or new folder`,
    );
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, WORK_DIR_MARKER), 'made by edgeloop demo; the next demo run wipes this folder\n');
}

export async function runDemo(options: DemoOptions, report: Report): Promise<DemoHandle> {
  const started = Date.now();
  await resetWorkDir(options.workDir);
  const logFile = join(options.workDir, 'demo.log');
  const logger: Logger = createLogger({ level: 'info', destination: createWriteStream(logFile) });
  report(`work folder ${options.workDir} (logs: ${logFile})`);

  const datasetDir = join(options.workDir, 'dataset');
  report(
    `1/8 drawing a studio dataset: ${options.imagesPerClass} images per class of ${SYNTHETIC_CLASSES.join(', ')}`,
  );
  await generateSyntheticDataset(datasetDir, {
    perClass: options.imagesPerClass,
    width: 160,
    height: 120,
    difficulty: options.datasetDifficulty,
    seed: options.seed,
  });

  report('2/8 starting the control plane (HTTP API, embedded MQTT broker, SQLite)');
  const controlPlane = await startControlPlane(
    ControlPlaneConfigSchema.parse({
      dataDir: join(options.workDir, 'control-plane'),
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { host: '127.0.0.1', port: 0 },
      logLevel: 'info',
    }),
    { logger: logger.child({ program: 'control-plane' }) },
  );
  // Everything the demo does is recorded as done by the demo (labels, versions, rollouts).
  const api = new LoopApiClient(controlPlane.httpUrl, controlPlane.adminToken, 'demo-auto-labeller');
  const agents: Agent[] = [];
  const field = new FieldAccuracy();
  const close = async () => {
    await Promise.allSettled(agents.map((a) => a.close()));
    await controlPlane.close();
  };
  try {
    report(
      `  control plane ${controlPlane.httpUrl}, broker ${controlPlane.mqttUrl}, dashboard ${controlPlane.httpUrl}/ui/`,
    );
    report(
      `3/8 enrolling ${options.devices} agents with synthetic cameras (field conditions: harder than the studio)`,
    );
    const { token } = await api.createEnrollmentToken({ uses: options.devices, group: 'demo' });
    for (let i = 1; i <= options.devices; i++) {
      const config = AgentConfigSchema.parse({
        controlPlaneUrl: controlPlane.httpUrl,
        dataDir: join(options.workDir, 'agents', `cam-${i}`),
        enrollmentToken: token,
        deviceId: `cam-${i}`,
        name: `demo camera ${i}`,
        camera: {
          type: 'synthetic',
          width: 160,
          height: 120,
          fps: options.cameraFps,
          seed: options.seed * 100 + i,
          difficulty: options.cameraDifficulty,
        },
        samples: { lowConfidenceThreshold: options.lowConfidenceThreshold, maxPerMinute: 60, maxQueued: 500 },
        trustedKeys: [controlPlane.signingPublicKey],
        reportIntervalMs: 2000,
        logLevel: 'info',
      });
      const agent = await startAgent(config, {
        logger: logger.child({ program: 'agent', device: `cam-${i}` }),
      });
      agent.onEvent((e) => {
        if (e.type === 'prediction') field.record(e.prediction);
      });
      agents.push(agent);
    }
    report(`  enrolled ${agents.map((a) => a.deviceId).join(', ')}`);

    const versions: DemoVersionSummary[] = [];
    const trainPublishRollOut = async (version: number, extraTrain: string[], initFrom?: string) => {
      const outDir = join(options.workDir, 'models', `v${version}`);
      const metrics: TrainMetrics = await train({
        dataDir: datasetDir,
        outDir,
        name: 'shapes',
        architecture: 'mobilenet_v1',
        alpha: 0.25,
        inputSize: options.inputSize,
        // Retraining continues from the parent version: fewer epochs, gentler steps.
        epochs: initFrom ? options.retrainEpochs : options.epochs,
        batchSize: 16,
        learningRate: initFrom ? options.learningRate / 3 : options.learningRate,
        initFrom,
        dropout: 0.1,
        patience: 4,
        seed: options.seed + version,
        // Eight epochs are too few to learn through augmentation at 32 px: v1 learned far less with it.
        augment: false,
        extraTrain,
        logger: logger.child({ program: 'trainer' }),
        onProgress: trainProgressReporter(report, version),
      });
      report(
        `  v${version}: val accuracy ${(metrics.valAccuracy * 100).toFixed(1)}% (onnx ${(metrics.onnxValAccuracy * 100).toFixed(1)}%), ${metrics.trainImages} training images incl. ${metrics.fieldSamplesUsed} field samples, ${metrics.trainSeconds.toFixed(0)}s at ${metrics.imagesPerSec.toFixed(0)} img/s`,
      );
      // Devices run int8: model.onnx becomes the quantized model, calibrated on training images.
      const quantization = await quantizeModelDir(outDir, datasetDir, { seed: options.seed + version });
      report(`  ${formatQuantization(quantization)}`);
      const published = await publishModelDir(api, outDir, { modelVersion: version });
      report(`  published v${published.modelVersion}; the control plane signed its manifest`);
      // A staged rollout over MQTT: one canary, a soak while the health gates compare its field
      // confidence with the previous version's, then the rest of the fleet.
      const created = await api.createRollout({
        modelVersion: version,
        target: { all: true },
        strategy: {
          waves: [{ devices: 1 }, { percent: 100 }],
          soakSeconds: options.canarySoakSec,
          deviceTimeoutSeconds: 120,
          gates: { minPredictions: 10, onFailure: 'abort' },
        },
      });
      report(
        `  rollout ${created.rolloutId}: v${version} to ${created.devices.length} devices, canary first`,
      );
      let canaryDevice = '';
      await waitFor(`rollout ${created.rolloutId} of v${version} to finish`, 180, async () => {
        const r = await api.getRollout(created.rolloutId);
        const canary = r.devices.find((d) => d.wave === 0);
        if (!canaryDevice && canary?.state === 'active') {
          canaryDevice = canary.deviceId;
          report(
            `  canary ${canaryDevice} runs v${version}; soaking ${options.canarySoakSec}s behind the health gates`,
          );
        }
        if (r.state === 'aborted' || r.state === 'paused')
          throw new EdgeloopError(
            'INTERNAL',
            `demo: rollout ${r.rolloutId} of v${version} ${r.state}: ${r.reason ?? 'see edgeloop rollout status'}`,
          );
        return r.state === 'completed';
      });
      await waitFor(`every device to run v${version}`, 60, () =>
        agents.every((a) => a.currentModelVersion() === version),
      );
      await waitFor(`every device to report v${version}`, 30, async () =>
        (await api.listDevices()).every((d) => d.reportedVersion === version),
      );
      report(`  all ${agents.length} devices verified, loaded and are running v${version}`);
      return { metrics, quantization, rolloutId: created.rolloutId, canaryDevice };
    };

    report('4/8 training v1 on the studio dataset');
    const v1 = await trainPublishRollOut(1, []);

    report(
      `5/8 agents classify camera frames; frames under ${options.lowConfidenceThreshold} confidence come back`,
    );
    field.start();
    const collectStart = Date.now();
    await waitFor('low-confidence samples', options.collectTimeoutSec + 5, async () => {
      const { total } = await api.listSamples({ limit: 1 });
      return total >= options.minSamples || Date.now() - collectStart > options.collectTimeoutSec * 1000;
    });
    if (Date.now() - collectStart < options.measureSec * 1000)
      await delay(options.measureSec * 1000 - (Date.now() - collectStart));
    field.stop();
    const fieldV1 = field.of(1);
    const samplesReported = (await api.listSamples({ limit: 1 })).total;
    report(
      `  ${samplesReported} samples stored; v1 field accuracy ${fieldV1.accuracy === null ? 'n/a' : `${(fieldV1.accuracy * 100).toFixed(1)}%`} over ${fieldV1.total} frames`,
    );
    versions.push(summarise(1, v1, agents, fieldV1));

    report(
      "6/8 labelling: the demo labels samples from the generator's ground truth (stand-in for a person)",
    );
    const labelled = await autoLabel(api);
    report(
      `  labelled ${labelled.labelled} samples; the device's own guess was right for ${labelled.agreedWithDevice}`,
    );

    report('7/8 training v2 from v1 on the studio dataset + the labelled field samples');
    const samplesDir = await mkdtemp(join(options.workDir, 'field-samples-'));
    await downloadLabelledSamples(api, samplesDir);
    const v2 = await trainPublishRollOut(2, [samplesDir], join(options.workDir, 'models', 'v1'));

    report(`8/8 measuring v2 in the field for ${options.measureSec}s`);
    field.start();
    await delay(options.measureSec * 1000);
    field.stop();
    const fieldV2 = field.of(2);
    versions.push(summarise(2, v2, agents, fieldV2));
    const used = (await api.allSamples({ labelled: true })).filter((s) => s.usedInModelVersion === 2).length;
    const summary: DemoSummary = {
      versions,
      samplesReported,
      samplesLabelled: labelled.labelled,
      samplesUsedInRetraining: used,
      devices: agents.map((a) => a.deviceId),
      controlPlaneUrl: controlPlane.httpUrl,
      mqttUrl: controlPlane.mqttUrl,
      seconds: (Date.now() - started) / 1000,
    };
    return { summary, controlPlane, agents, close };
  } catch (err) {
    await close();
    throw err;
  }
}

function summarise(
  version: number,
  trained: {
    metrics: TrainMetrics;
    quantization: QuantizationMetrics;
    rolloutId: string;
    canaryDevice: string;
  },
  agents: Agent[],
  fieldResult: { accuracy: number | null; total: number },
): DemoVersionSummary {
  const { metrics, quantization } = trained;
  return {
    version,
    devicesActive: agents.filter((a) => a.currentModelVersion() === version).length,
    valAccuracy: metrics.valAccuracy,
    onnxValAccuracy: metrics.onnxValAccuracy,
    int8ValAccuracy: quantization.int8Accuracy,
    int8Agreement: quantization.agreement,
    rolloutId: trained.rolloutId,
    canaryDevice: trained.canaryDevice,
    fieldAccuracy: fieldResult.accuracy,
    fieldPredictions: fieldResult.total,
    trainImages: metrics.trainImages,
    fieldSamplesUsed: metrics.fieldSamplesUsed,
    trainSeconds: metrics.trainSeconds,
  };
}
