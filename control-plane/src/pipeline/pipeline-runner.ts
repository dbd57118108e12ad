/**
 * Runs retraining pipelines one at a time. A trigger while a run is active queues a new run, which
 * starts when the active one ends. Each step gets `1 + retries` attempts; a step that still fails
 * fails the run with the step named. Cancel stops a queued run at once and a running one at its
 * next await (child processes are killed). History — status, attempts, duration, log, artifacts
 * per step — lives in the store, so it survives restarts; a run interrupted by a restart is
 * marked failed rather than resumed halfway.
 */
import { randomUUID } from 'node:crypto';
import { EdgeloopError, type Logger, NotFoundError, type PipelineRun } from '@edgeloop/shared';
import type { Store } from '../store/store.ts';

export interface StepContext {
  runId: string;
  signal: AbortSignal;
  log(text: string): void;
  /** Values earlier steps handed on (dataset version, folders, model version, …). */
  state: Record<string, unknown>;
}

export interface PipelineStepDef {
  name: string;
  /** Returns the step's artifacts; throwing fails this attempt. */
  run(ctx: StepContext): Promise<Record<string, unknown>>;
}

export interface PipelineRunner {
  trigger(trigger: PipelineRun['trigger'], actor: string): Promise<PipelineRun>;
  cancel(runId: string, actor: string): Promise<PipelineRun>;
  /** Begins running queued pipelines here (this replica leads); runs left `running` are failed. */
  start(): Promise<void>;
  /** Stops running pipelines here (lost the lead): the active run fails as interrupted. */
  stop(): Promise<void>;
  /** Resolves once no run is active or queued (tests and shutdown). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const CANCELLED_BY = 'cancelled by ';
const STEPPED_DOWN = new Error('interrupted: the replica running it stopped leading; run it again');

export async function createPipelineRunner(deps: {
  store: Store;
  steps: readonly PipelineStepDef[];
  retries: number;
  retryDelayMs: number;
  logger: Logger;
  /** How often the leader looks for runs queued or cancelled through other replicas (ms). */
  pollMs?: number;
}): Promise<PipelineRunner> {
  const runs = deps.store.pipeline;
  let active: { runId: string; abort: AbortController; done: Promise<void> } | null = null;
  let closed = false;
  const idleWaiters: (() => void)[] = [];

  /** Only the leader runs pipelines (start/stop); any replica may queue or cancel one. */
  let executing = false;
  let poll: NodeJS.Timeout | null = null;

  const now = () => new Date().toISOString();

  async function attempt(
    run: PipelineRun,
    index: number,
    step: PipelineStepDef,
    ctx: StepContext,
  ): Promise<boolean> {
    // Step logs are written in the background, in order on one connection; a lost line is logged.
    const log = (text: string) => {
      runs
        .appendStepLog(run.id, index, text)
        .catch((err: unknown) => deps.logger.error({ err, runId: run.id }, 'writing a step log failed'));
    };
    await runs.setStep(run.id, index, { status: 'running', startedAt: now() });
    for (let n = 1; n <= deps.retries + 1; n++) {
      await runs.setStep(run.id, index, { attempts: n });
      try {
        const artifacts = await step.run({ ...ctx, log });
        await runs.setStepArtifacts(run.id, index, artifacts);
        await runs.setStep(run.id, index, { status: 'succeeded', finishedAt: now(), error: null });
        return true;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        log(`\nattempt ${n} failed: ${message}\n`);
        if (ctx.signal.aborted) {
          await runs.setStep(run.id, index, { status: 'cancelled', finishedAt: now(), error: 'cancelled' });
          return false;
        }
        if (n > deps.retries) {
          await runs.setStep(run.id, index, { status: 'failed', finishedAt: now(), error: message });
          await runs.setRun(run.id, {
            status: 'failed',
            finishedAt: now(),
            error: `step '${step.name}' failed after ${n} attempts: ${message}`,
          });
          return false;
        }
        log(`retrying in ${deps.retryDelayMs} ms\n`);
        await new Promise((r) => setTimeout(r, deps.retryDelayMs));
      }
    }
    return false;
  }

  async function execute(run: PipelineRun, abort: AbortController): Promise<void> {
    await runs.setRun(run.id, { status: 'running', startedAt: now() });
    deps.logger.info({ runId: run.id, trigger: run.trigger }, 'pipeline run started');
    const ctx: StepContext = { runId: run.id, signal: abort.signal, log: () => {}, state: {} };
    for (const [index, step] of deps.steps.entries()) {
      if (abort.signal.aborted || !(await attempt(run, index, step, ctx))) {
        for (let rest = index; rest < deps.steps.length; rest++) {
          const s = (await runs.getRun(run.id))!.steps[rest];
          if (s.status === 'pending') await runs.setStep(run.id, rest, { status: 'cancelled' });
        }
        if (abort.signal.reason === STEPPED_DOWN)
          await runs.setRun(run.id, { status: 'failed', finishedAt: now(), error: STEPPED_DOWN.message });
        else if (abort.signal.aborted) await runs.setRun(run.id, { status: 'cancelled', finishedAt: now() });
        deps.logger.warn(
          { runId: run.id, status: (await runs.getRun(run.id))?.status },
          'pipeline run ended early',
        );
        return;
      }
    }
    await runs.setRun(run.id, { status: 'succeeded', finishedAt: now() });
    deps.logger.info({ runId: run.id }, 'pipeline run succeeded');
  }

  // Kicks run one after another, so two of them never both start the next queued run.
  let kicking: Promise<void> = Promise.resolve();
  function kick(): void {
    kicking = kicking
      .then(startNext)
      .catch((err: unknown) => deps.logger.error({ err }, 'starting the next pipeline run failed'));
  }

  async function startNext(): Promise<void> {
    if (active || closed || !executing) return;
    const next = (await runs.runsIn(['queued']))[0];
    if (!next) {
      for (const resolve of idleWaiters.splice(0)) resolve();
      return;
    }
    const abort = new AbortController();
    const done = execute(next, abort)
      .catch(async (err) => {
        deps.logger.error({ err, runId: next.id }, 'pipeline run crashed');
        await runs
          .setRun(next.id, { status: 'failed', finishedAt: now(), error: (err as Error).message })
          // The database may be what failed: say so rather than leave an unhandled rejection.
          .catch((storeErr) =>
            deps.logger.error({ err: storeErr, runId: next.id }, 'could not record the failed run'),
          );
      })
      .finally(() => {
        active = null;
        kick();
      });
    active = { runId: next.id, abort, done };
  }

  return {
    async trigger(trigger, actor) {
      if (closed) throw new EdgeloopError('CONFLICT', 'the pipeline is shutting down');
      const id = `run-${new Date()
        .toISOString()
        .replace(/[-:.TZ]/g, '')
        .slice(0, 14)}-${randomUUID().slice(0, 8)}`;
      await runs.createRun({
        id,
        trigger,
        requestedBy: actor,
        createdAt: now(),
        steps: deps.steps.map((s) => s.name),
      });
      deps.logger.info(
        { runId: id, trigger, actor, queuedBehind: active?.runId ?? null },
        'pipeline run queued',
      );
      kick();
      // Started (or queued behind the active run) before answering, as the caller sees it.
      await kicking;
      return (await runs.getRun(id))!;
    },

    async cancel(runId, actor) {
      const run = await runs.getRun(runId);
      if (!run) throw new NotFoundError(`pipeline run '${runId}' not found`);
      if (run.status === 'queued') {
        await runs.setRun(runId, { status: 'cancelled', finishedAt: now(), error: `cancelled by ${actor}` });
        for (let i = 0; i < run.steps.length; i++) await runs.setStep(runId, i, { status: 'cancelled' });
      } else if (run.status === 'running') {
        // Running here: stopped now; on the leader replica: stopped at its next look (start()).
        await runs.setRun(runId, { status: 'running', error: `${CANCELLED_BY}${actor}` });
        if (active?.runId === runId) active.abort.abort();
      } else {
        throw new EdgeloopError('CONFLICT', `run '${runId}' is already ${run.status}`);
      }
      return (await runs.getRun(runId))!;
    },

    async start() {
      if (executing || closed) return;
      // Whoever ran these before (an earlier process, or a leader that died) is gone.
      for (const run of await runs.runsIn(['running'])) {
        await runs.setRun(run.id, {
          status: 'failed',
          finishedAt: new Date().toISOString(),
          error: 'interrupted by a control-plane restart',
        });
      }
      executing = true;
      kick();
      // Runs queued, or cancelled, through another replica.
      poll = setInterval(() => {
        const current = active;
        if (current)
          runs
            .getRun(current.runId)
            .then((run) => {
              if (run?.error?.startsWith(CANCELLED_BY)) current.abort.abort();
            })
            .catch((err: unknown) => deps.logger.error({ err }, 'checking for a cancelled run failed'));
        kick();
      }, deps.pollMs ?? 2_000);
      poll.unref();
    },

    async stop() {
      executing = false;
      if (poll) clearInterval(poll);
      poll = null;
      if (active) {
        active.abort.abort(STEPPED_DOWN);
        await active.done;
      }
    },

    async idle() {
      if (!active && (await runs.runsIn(['queued'])).length === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },

    async close() {
      closed = true;
      if (poll) clearInterval(poll);
      poll = null;
      if (active) {
        active.abort.abort();
        await active.done;
      }
      for (const resolve of idleWaiters.splice(0)) resolve();
    },
  };
}
