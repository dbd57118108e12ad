/**
 * The whole loop on one machine, with the real parts: control plane (HTTP + embedded MQTT broker +
 * SQLite), N agents with synthetic cameras running onnxruntime, and the trainer as the control
 * plane's pipeline runs it.
 *
 *   studio dataset → imported into the control plane → pipeline run: v1 → staged rollout over
 *   MQTT → agents classify camera frames → low-confidence frames come back → labelled in the
 *   labelling queue → pipeline run: v2 from v1 on studio + field → staged rollout → measure
 *
 * Both versions come out of the retraining pipeline, triggered over HTTP as an operator would:
 * there is one way a model is made, and v2 can continue from v1 only because the pipeline keeps
 * the folders of the models it trained (a model trained outside it has no checkpoint it can find).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
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
import { generateSyntheticDataset } from '@edgeloop/trainer';
import { importFolder } from '../commands/dataset.ts';
import { autoLabel } from './auto-labeller.ts';
import type { DemoOptions, DemoSummary, DemoVersionSummary } from './demo-options.ts';
import { FieldAccuracy } from './field-accuracy.ts';
import { CANDIDATE, pipelineConfig } from './pipeline-config.ts';
import { type PipelineResult, runPipeline } from './pipeline-run.ts';

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

  report('2/8 starting the control plane (HTTP API, embedded MQTT broker, SQLite, retraining pipeline)');
  const controlPlane = await startControlPlane(
    ControlPlaneConfigSchema.parse({
      dataDir: join(options.workDir, 'control-plane'),
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { host: '127.0.0.1', port: 0 },
      logLevel: 'info',
      pipeline: pipelineConfig(options),
      registry: { promotionMargin: 0, classTolerance: options.classTolerance },
    }),
    { logger: logger.child({ program: 'control-plane' }) },
  );
  const api = new LoopApiClient(controlPlane.httpUrl, controlPlane.adminToken, 'demo');
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
    const retrainAndRollOut = async (version: number) => {
      const result = await runPipeline(api, report, options.pipelineTimeoutSec);
      if (result.modelVersion !== version)
        throw new EdgeloopError(
          'INTERNAL',
          `demo: expected version ${version}, the pipeline made ${result.modelVersion}`,
        );
      if (result.rolloutId === null) {
        // On ~100 validation images a retrained model can tie or trail its parent by an image or
        // two, and the rule then keeps production. The demo exists to show the second rollout, so
        // it overrules the rule the way an operator can, and says so.
        report(`  the promotion rule kept v${version - 1} in production: ${result.promotion.reason}`);
        report(
          `  the demo overrules it as an operator would: alias production → v${version}, staged rollout`,
        );
        await api.setAlias('production', version);
        const canary = pipelineConfig(options).canary;
        if (!canary?.target) throw new EdgeloopError('INTERNAL', 'demo: its pipeline has no canary target');
        const rollout = await api.createRollout({
          modelVersion: version,
          target: canary.target,
          strategy: canary.strategy,
        });
        result.rolloutId = rollout.rolloutId;
      }
      const rolloutId = result.rolloutId;
      const canaryDevice = await followRollout(api, rolloutId, version, agents, options, report);
      return { ...result, rolloutId, canaryDevice };
    };

    report(
      `4/8 v1: the studio dataset goes into the control plane; a pipeline run trains ${CANDIDATE} on it`,
    );
    // The studio shots become the control plane's `base` dataset and its fixed `eval` set, so
    // every dataset version trains on them and every candidate is judged on the same images.
    for (const [dataset, folder] of [
      ['base', 'train'],
      ['eval', 'validation'],
    ] as const) {
      const imported = await importFolder(api, dataset, join(datasetDir, folder));
      if (imported.failed.length > 0)
        throw new EdgeloopError('DATASET_INVALID', `demo: importing ${folder}: ${imported.failed[0].reason}`);
      report(`  imported ${imported.added} studio images into dataset '${dataset}'`);
    }

    const v1 = await retrainAndRollOut(1);

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
    versions.push(await summarise(api, v1, agents, fieldV1));

    report(
      "6/8 labelling queue: the demo labels samples from the generator's ground truth (stand-in for a person)",
    );
    const labelled = await autoLabel(api);
    report(
      `  labelled ${labelled.labelled} samples: confirmed ${labelled.agreedWithDevice} device guesses, corrected the rest`,
    );

    report(
      '7/8 pipeline run for v2: a new dataset version (studio + labelled field samples), trained from v1',
    );
    const v2 = await retrainAndRollOut(2);

    report(`8/8 measuring v2 in the field for ${options.measureSec}s`);
    field.start();
    await delay(options.measureSec * 1000);
    field.stop();
    const fieldV2 = field.of(2);
    const v2Summary = await summarise(api, v2, agents, fieldV2);
    versions.push(v2Summary);
    const summary: DemoSummary = {
      versions,
      samplesReported,
      samplesLabelled: labelled.labelled,
      // What the pipeline recorded: the field samples in the dataset version that trained v2.
      samplesUsedInRetraining: v2Summary.fieldSamplesInDatasetVersion,
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

/** Follows the staged rollout a pipeline run opened until every device runs and reports it. */
async function followRollout(
  api: LoopApiClient,
  rolloutId: string,
  version: number,
  agents: Agent[],
  options: DemoOptions,
  report: Report,
): Promise<string> {
  let canaryDevice = '';
  await waitFor(`rollout ${rolloutId} of v${version} to finish`, 180, async () => {
    const r = await api.getRollout(rolloutId);
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
  return canaryDevice;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN);

/** A version's line in the summary: the figures it was registered with and its dataset version. */
async function summarise(
  api: LoopApiClient,
  made: PipelineResult & { rolloutId: string; canaryDevice: string },
  agents: Agent[],
  fieldResult: { accuracy: number | null; total: number },
): Promise<DemoVersionSummary> {
  const version = made.modelVersion;
  const model = (await api.listModels()).find((m) => m.modelVersion === version);
  if (!model?.metrics) throw new EdgeloopError('INTERNAL', `demo: version ${version} has no metrics`);
  const metrics = model.metrics;
  const quantization = (metrics.quantization ?? {}) as Record<string, unknown>;
  const { entries } = await api.datasetVersion(made.datasetVersion);
  const field = entries.filter((e) => e.sampleId !== null);
  return {
    version,
    devicesActive: agents.filter((a) => a.currentModelVersion() === version).length,
    valAccuracy: num(metrics.valAccuracy),
    onnxValAccuracy: num(metrics.onnxValAccuracy),
    int8ValAccuracy: num(quantization.int8Accuracy),
    int8Agreement: num(quantization.agreement),
    rolloutId: made.rolloutId,
    canaryDevice: made.canaryDevice,
    pipelineRun: made.run.id,
    datasetVersion: made.datasetVersion,
    fieldAccuracy: fieldResult.accuracy,
    fieldPredictions: fieldResult.total,
    trainImages: num(metrics.trainImages),
    fieldSamplesUsed: field.filter((e) => e.split === 'train').length,
    fieldSamplesInDatasetVersion: field.length,
    trainSeconds: num(metrics.trainSeconds),
  };
}
