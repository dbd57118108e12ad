/**
 * Starts a retraining run on the control plane and follows it to the end over HTTP, as an operator
 * would with `edgeloop pipeline run --wait`: POST the run, poll its record, report each step as it
 * finishes. What the run made is read from its steps' artifacts, validated here.
 */
import { EdgeloopError, type LoopApiClient, type PipelineRun, type PipelineStep } from '@edgeloop/shared';

const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

export interface PipelineResult {
  run: PipelineRun;
  modelVersion: number;
  datasetVersion: string;
  /** Null when the promotion rule kept the production model (then there is no canary rollout). */
  rolloutId: string | null;
  /** Why the promotion rule decided as it did. */
  promotion: { promoted: boolean; reason: string };
}

const pct = (x: unknown) => (typeof x === 'number' ? `${(x * 100).toFixed(1)}%` : 'n/a');
const record = (x: unknown): Record<string, unknown> =>
  typeof x === 'object' && x !== null ? (x as Record<string, unknown>) : {};

/** An artifact the demo relies on, checked: a run without it is reported, not guessed around. */
function artifact<T>(run: PipelineRun, step: string, key: string, ok: (v: unknown) => v is T): T {
  const value = run.steps.find((s) => s.name === step)?.artifacts[key];
  if (!ok(value))
    throw new EdgeloopError('INTERNAL', `pipeline run ${run.id}: step '${step}' reported no usable ${key}`);
  return value;
}
const isNumber = (v: unknown): v is number => typeof v === 'number';
const isString = (v: unknown): v is string => typeof v === 'string';
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';

/** One line per finished step, from what the step reported. */
function describe(step: PipelineStep): string {
  const a = step.artifacts;
  switch (step.name) {
    case 'snapshot': {
      const counts = Object.entries(record(a.counts)).map(([split, n]) => `${split} ${n}`);
      return `dataset version ${a.datasetVersion} (${counts.join(', ')})`;
    }
    case 'export':
      return `${a.images} images to the training folder`;
    case 'train':
      return `trained ${(Array.isArray(a.candidates) ? a.candidates : []).map((c) => record(c).name).join(', ')}`;
    case 'evaluate':
      return (Array.isArray(a.candidates) ? a.candidates : [])
        .map(record)
        .map((c) => {
          const hard = record(c.fieldHard);
          return `${c.name}: fixed set ${pct(c.fixedAccuracy)}, field-hard ${c.fieldHard ? `${pct(hard.accuracy)} of ${hard.images}` : 'n/a'}`;
        })
        .join('; ');
    case 'register':
      return `${a.candidate} registered as version ${a.modelVersion} (the control plane numbered and signed it)`;
    case 'promote':
      return `${a.promoted ? 'promoted' : 'not promoted'}: ${a.reason}`;
    case 'canary':
      return `staged rollout ${a.rolloutId ?? 'none'} to ${Array.isArray(a.devices) ? a.devices.length : 0} devices`;
  }
  return JSON.stringify(a);
}

export async function runPipeline(
  client: LoopApiClient,
  report: (line: string) => void,
  timeoutSec: number,
): Promise<PipelineResult> {
  let run = await client.triggerPipeline();
  report(`  pipeline run ${run.id} ${run.status}: ${run.steps.map((s) => s.name).join(' → ')}`);
  const reported = new Set<string>();
  const deadline = Date.now() + timeoutSec * 1000;
  for (;;) {
    for (const step of run.steps) {
      if (step.status !== 'succeeded' || reported.has(step.name)) continue;
      reported.add(step.name);
      const secs = step.durationMs === null ? '' : ` (${(step.durationMs / 1000).toFixed(0)}s)`;
      report(`  ${step.name.padEnd(8)} ${describe(step)}${secs}`);
    }
    if (FINISHED.has(run.status)) break;
    if (Date.now() > deadline)
      throw new EdgeloopError(
        'INTERNAL',
        `demo: pipeline run ${run.id} still ${run.status} after ${timeoutSec}s`,
      );
    await new Promise((r) => setTimeout(r, 500));
    run = await client.pipelineRun(run.id);
  }
  if (run.status !== 'succeeded')
    throw new EdgeloopError(
      'INTERNAL',
      `demo: pipeline run ${run.id} ${run.status}: ${run.error ?? 'see edgeloop pipeline show'}`,
    );
  const promoted = artifact(run, 'promote', 'promoted', isBoolean);
  return {
    run,
    modelVersion: artifact(run, 'register', 'modelVersion', isNumber),
    datasetVersion: artifact(run, 'snapshot', 'datasetVersion', isString),
    rolloutId: promoted ? artifact(run, 'canary', 'rolloutId', isString) : null,
    promotion: {
      promoted,
      reason: String(run.steps.find((s) => s.name === 'promote')?.artifacts.reason ?? ''),
    },
  };
}
