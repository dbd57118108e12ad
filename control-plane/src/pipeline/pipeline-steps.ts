/**
 * The retraining pipeline's steps: snapshot → export → train candidates → evaluate (fixed set and
 * field-hard) → register the best → promote by the rule → optional canary rollout. Training and
 * prediction run as child processes (run-command.ts) on folders this file writes and reads.
 */
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  ConfigError,
  type CreateRollout,
  EdgeloopError,
  type Evaluation,
  type Logger,
  MODEL_FOLDER,
  type ModelMetrics,
  PipelineCanarySchema,
  type PipelineConfig,
  PRIVATE_DIR_MODE,
  PRIVATE_FILE_MODE,
  PROTOCOL_VERSION,
  PredictOutputSchema,
  parseJsonWith,
  type RolloutStrategy,
  readModelFolder,
  safeJoin,
} from '@edgeloop/shared';
import { snapshotDataset } from '../datasets/dataset-versions.ts';
import { evaluationOf, type PromotionRule } from '../models/model-comparison.ts';
import type { ModelRegistry } from '../models/model-registry.ts';
import { CANDIDATE_ALIAS, PRODUCTION_ALIAS, promote } from '../models/promotion.ts';
import type { ObjectStore } from '../object-store/object-store.ts';
import type { RolloutEngine } from '../rollouts/rollout-engine.ts';
import type { Store } from '../store/store.ts';
import type { PipelineStepDef, StepContext } from './pipeline-runner.ts';
import { runCommand } from './run-command.ts';

export const PIPELINE_ACTOR = 'pipeline';
const EXTENSION: Record<string, string> = { 'image/png': 'png', 'image/webp': 'webp', 'image/jpeg': 'jpg' };

export interface PipelineStepDeps {
  store: Store;
  objects: ObjectStore;
  models: ModelRegistry;
  /** Opens the canary rollout of a promoted candidate. */
  rollouts: Pick<RolloutEngine, 'create'>;
  config: PipelineConfig;
  workDir: string;
  rule: () => PromotionRule;
  logger: Logger;
  /** After the pipeline moves an alias (candidate, production): cameras naming it follow. */
  aliasesChanged?: () => Promise<void>;
}

interface Candidate {
  name: string;
  args: string[];
  dir: string;
  /** The parent's model folder this candidate continues from (`--init-from`), if any. */
  initFrom: string | null;
  metrics?: ModelMetrics;
  fixed?: Evaluation;
  fieldHard?: { accuracy: number; images: number } | null;
}

async function pool<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  await Promise.all(
    Array.from({ length: Math.min(size, items.length) }, async () => {
      while (next < items.length) {
        try {
          await work(items[next++]);
        } catch (err) {
          errors.push(err);
        }
      }
    }),
  );
  if (errors.length > 0) throw errors[0];
}

/** The canary rollout to open, from `canary` or the older `canaryGroup` shorthand; null: none. */
function canaryOf(
  config: PipelineConfig,
): { target: CreateRollout['target']; strategy: RolloutStrategy } | null {
  const target = config.canary?.target ?? (config.canaryGroup ? { group: config.canaryGroup } : undefined);
  if (!target) {
    if (config.canary)
      throw new ConfigError(
        'pipeline.canary needs a target (pipeline.canary.target or pipeline.canaryGroup)',
      );
    return null;
  }
  return { target, strategy: (config.canary ?? PipelineCanarySchema.parse({})).strategy };
}

/**
 * The folder of the production model, when the pipeline trained it as candidate `name` on the
 * classes this run has, and its weights are still on disk: a candidate configured with
 * `fromParentArgs` continues from there. Anything else (an uploaded model, another architecture,
 * new classes, a cleaned work folder) trains from scratch.
 */
async function parentFolder(
  deps: PipelineStepDeps,
  name: string,
  classes: readonly string[],
): Promise<{ version: number; dir: string } | null> {
  const version = (await deps.store.registry.getAlias(PRODUCTION_ALIAS))?.modelVersion;
  if (version === undefined) return null;
  const { run, candidate } = (await deps.store.registry.getLineage(version))?.parameters ?? {};
  const labels = (await deps.store.models.get(version))?.manifest.labels ?? [];
  if (typeof run !== 'string' || candidate !== name || labels.join('\n') !== classes.join('\n')) return null;
  const dir = join(deps.workDir, run, 'models', name);
  const found = await stat(join(dir, 'checkpoint')).then(
    (s) => s.isDirectory(),
    () => false,
  );
  return found ? { version, dir } : null;
}

export function pipelineSteps(deps: PipelineStepDeps): PipelineStepDef[] {
  const { store, config } = deps;
  const canary = canaryOf(config);
  const runDir = (ctx: StepContext) => join(deps.workDir, ctx.runId);
  const timeoutMs = config.stepTimeoutSec * 1000;

  return [
    {
      name: 'snapshot',
      async run(ctx) {
        const { version, created } = await snapshotDataset(store, {
          base: config.baseDataset,
          actor: PIPELINE_ACTOR,
        });
        ctx.state.datasetVersion = version.id;
        ctx.state.classes = version.classes;
        ctx.log(
          `dataset version ${version.id} (${created ? 'new' : 'unchanged'}): ${JSON.stringify(version.counts)}\n`,
        );
        return { datasetVersion: version.id, counts: version.counts, classes: version.classes };
      },
    },
    {
      name: 'export',
      async run(ctx) {
        const dir = join(runDir(ctx), 'data');
        await rm(dir, { recursive: true, force: true });
        const entries = await store.datasets.versionEntries(ctx.state.datasetVersion as string);
        const fieldHard: { path: string; label: string }[] = [];
        for (const e of entries) {
          // Labels and hashes came from devices and people: safeJoin refuses any that leaves `dir`.
          const path = safeJoin(dir, e.split, e.label, `${e.sha256}.${EXTENSION[e.contentType] ?? 'jpg'}`);
          await mkdir(dirname(path), { recursive: true, mode: PRIVATE_DIR_MODE });
          await writeFile(path, await deps.objects.get(e.objectKey), { mode: PRIVATE_FILE_MODE });
          if (e.split === 'field-hard') fieldHard.push({ path, label: e.label });
        }
        ctx.state.dataDir = dir;
        ctx.state.fieldHard = fieldHard;
        ctx.log(`exported ${entries.length} images to ${dir}\n`);
        return { dir, images: entries.length };
      },
    },
    {
      name: 'train',
      async run(ctx) {
        const previous = (ctx.state.candidates as Candidate[] | undefined) ?? [];
        const candidates: Candidate[] = [];
        for (const c of config.candidates) {
          const parent =
            c.fromParentArgs === undefined
              ? null
              : await parentFolder(deps, c.name, ctx.state.classes as string[]);
          if (parent) ctx.log(`[${c.name}] continues from version ${parent.version} (${parent.dir})\n`);
          candidates.push({
            name: c.name,
            args: parent ? [...c.args, '--init-from', parent.dir, ...(c.fromParentArgs ?? [])] : c.args,
            dir: join(runDir(ctx), 'models', c.name),
            initFrom: parent?.dir ?? null,
            metrics: previous.find((p) => p.name === c.name)?.metrics,
          });
        }
        ctx.state.candidates = candidates;
        // A retry trains only the candidates that did not finish.
        await pool(
          candidates.filter((c) => c.metrics === undefined),
          config.parallel,
          async (c) => {
            await rm(c.dir, { recursive: true, force: true });
            await runCommand(
              [
                ...config.trainCommand,
                '--data',
                ctx.state.dataDir as string,
                '--out',
                c.dir,
                '--name',
                `edgeloop-${c.name}`,
                ...c.args,
              ],
              { signal: ctx.signal, timeoutMs, onOutput: (text) => ctx.log(`[${c.name}] ${text}`) },
            );
            // Validated here, where it is read: a bad file fails this step naming file and field.
            const metrics = (await readModelFolder(c.dir))[MODEL_FOLDER.metrics];
            if (!metrics) {
              throw new EdgeloopError('MODEL_INVALID', `${c.dir}: ${MODEL_FOLDER.metrics}: missing`);
            }
            c.metrics = metrics;
          },
        );
        return { candidates: candidates.map((c) => ({ name: c.name, dir: c.dir })) };
      },
    },
    {
      name: 'evaluate',
      async run(ctx) {
        const candidates = ctx.state.candidates as Candidate[];
        const fieldHard = ctx.state.fieldHard as { path: string; label: string }[];
        for (const c of candidates) {
          const metricsFile = join(c.dir, MODEL_FOLDER.metrics);
          const fixed = evaluationOf(c.metrics ?? null, metricsFile);
          if (!fixed) {
            throw new EdgeloopError(
              'MODEL_INVALID',
              `${metricsFile}: no validation figures (expected valAccuracy, perClass and confusion, or fixedSet)`,
            );
          }
          c.fixed = fixed;
          c.fieldHard = null;
          if (fieldHard.length > 0) {
            const { stdout } = await runCommand(
              [
                ...config.predictCommand,
                '--model',
                c.dir,
                '--json',
                '--top-k',
                '1',
                ...fieldHard.map((f) => f.path),
              ],
              {
                signal: ctx.signal,
                timeoutMs,
                onOutput: (text) => ctx.log(`[${c.name}] ${text}`),
                captureStdout: true,
              },
            );
            const predictions = parseJsonWith(PredictOutputSchema, stdout, `predictions of ${c.name}`);
            const right = predictions.filter((p, i) => p.topK[0]?.label === fieldHard[i].label).length;
            c.fieldHard = { accuracy: right / fieldHard.length, images: fieldHard.length };
          }
          ctx.log(
            `${c.name}: fixed set ${(fixed.accuracy * 100).toFixed(1)}%, field-hard ${c.fieldHard ? `${(c.fieldHard.accuracy * 100).toFixed(1)}% of ${c.fieldHard.images}` : 'n/a'}\n`,
          );
        }
        return {
          candidates: candidates.map((c) => ({
            name: c.name,
            fixedAccuracy: c.fixed!.accuracy,
            fieldHard: c.fieldHard,
          })),
        };
      },
    },
    {
      name: 'register',
      async run(ctx) {
        const candidates = ctx.state.candidates as Candidate[];
        const score = (c: Candidate) => c.fixed!.accuracy + (c.fieldHard?.accuracy ?? 0) * 1e-3;
        const best = [...candidates].sort((a, b) => score(b) - score(a))[0];
        const folder = await readModelFolder(best.dir);
        // The registry numbers the version inside its publish queue: no guess that could race.
        const { modelVersion: _unnumbered, ...manifest } = folder[MODEL_FOLDER.manifest];
        const files = new Map<string, Uint8Array>();
        for (const f of manifest.files)
          files.set(f.name, new Uint8Array(await readFile(join(best.dir, f.name))));
        const metrics = { ...best.metrics, fixedSet: best.fixed, fieldHard: best.fieldHard };
        const summary = await deps.models.publish({
          manifestJson: JSON.stringify(manifest),
          metricsJson: JSON.stringify(metrics),
          files,
        });
        const production = (await store.registry.getAlias(PRODUCTION_ALIAS))?.modelVersion ?? null;
        const datasetVersion = ctx.state.datasetVersion as string;
        await store.registry.setLineage(summary.modelVersion, {
          // `run` and `candidate` locate this model's folder, so a later run can continue from it.
          parameters: {
            candidate: best.name,
            args: best.args,
            architecture: manifest.architecture,
            run: ctx.runId,
            initFrom: best.initFrom,
          },
          datasetVersion,
          parentVersion: production,
          createdBy: PIPELINE_ACTOR,
        });
        // The field samples in the dataset version (trained on, or held out as field-hard) are
        // recorded as used by this version, so a sample shows which model learnt from it.
        const sampleIds = (await store.datasets.versionEntries(datasetVersion)).flatMap((e) =>
          e.sampleId === null ? [] : [e.sampleId],
        );
        await store.samples.markUsed(sampleIds, summary.modelVersion);
        await store.registry.setAlias(
          CANDIDATE_ALIAS,
          summary.modelVersion,
          PIPELINE_ACTOR,
          new Date().toISOString(),
        );
        ctx.state.modelVersion = summary.modelVersion;
        await deps.aliasesChanged?.();
        ctx.log(
          `registered ${best.name} as version ${summary.modelVersion} (alias candidate); ${sampleIds.length} field samples in its dataset version\n`,
        );
        return { modelVersion: summary.modelVersion, candidate: best.name, fieldSamples: sampleIds.length };
      },
    },
    {
      name: 'promote',
      async run(ctx) {
        const decision = await promote(store, String(ctx.state.modelVersion), deps.rule(), PIPELINE_ACTOR);
        ctx.state.promoted = decision.promoted;
        if (decision.promoted) await deps.aliasesChanged?.();
        ctx.log(`${decision.promoted ? 'promoted' : 'not promoted'}: ${decision.reason}\n`);
        return { promoted: decision.promoted, reason: decision.reason, production: decision.production };
      },
    },
    {
      name: 'canary',
      async run(ctx) {
        if (!canary || !ctx.state.promoted) {
          ctx.log(canary ? 'candidate was not promoted: no canary\n' : 'no canary target configured\n');
          return { devices: [] };
        }
        if ((await store.devices.resolveTarget(canary.target)).length === 0) {
          // Not an error: an empty canary group just means nobody volunteered yet.
          ctx.log(`no devices match the canary target ${JSON.stringify(canary.target)}: no rollout\n`);
          return { rolloutId: null, target: canary.target, devices: [] };
        }
        // A staged rollout, not a plain assignment: waves, soak and health gates watch the new
        // version on the canary devices, and an abort sends them back to what they ran.
        const rollout = await deps.rollouts.create({
          protocol: PROTOCOL_VERSION,
          modelVersion: ctx.state.modelVersion as number,
          target: canary.target,
          strategy: canary.strategy,
        });
        ctx.log(
          `opened rollout ${rollout.rolloutId} of version ${rollout.modelVersion} to ${rollout.devices.length} devices (${JSON.stringify(canary.target)}), waves ${rollout.waves.map((w) => w.devices).join('+')}\n`,
        );
        return {
          rolloutId: rollout.rolloutId,
          target: canary.target,
          waves: rollout.waves.map((w) => w.devices),
          devices: rollout.devices.map((d) => d.deviceId),
        };
      },
    },
  ];
}
