/**
 * Remote configuration on the agent, on the target-state pattern: the control plane's fragment is
 * the target, the running config the current state.
 *
 *   offer(desired) → validate (local file config + fragment through AgentConfigSchema) → diff the
 *   remote sections → persist it as the candidate → apply the changed ones (the caller restarts
 *   only what they touch) → wait until the agent is healthy (the caller decides: every camera
 *   delivers frames) within the deadline → persist as last good, report `applied`; or revert to
 *   the last good config and report `reverted` (a revision that failed is not tried again until a
 *   different one comes).
 *
 * At start, a candidate still on disk means the agent stopped (crashed, lost power) during its
 * check: it starts on the candidate and checks it again, all sections counted as changed. A
 * candidate it already started on once is reverted without a try (it may be what crashes it).
 *
 * One exclusive runner: offers are handled in order, and a newer offer cancels a health wait in
 * progress (the older candidate is then superseded, not confirmed).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type AgentConfig,
  AgentConfigSchema,
  type AppliedConfig,
  type ConfigFragment,
  changedSections,
  type DesiredConfig,
  describeIssues,
  type Logger,
  mergeSettings,
  type RemoteConfigFile,
  RemoteConfigFileSchema,
  type RemoteSection,
  redactText,
  writeFileAtomic,
} from '@edgeloop/shared';

type StoredRemoteConfig = RemoteConfigFile;

export const REMOTE_CONFIG_FILE = 'remote-config.json';
export const DEFAULT_HEALTH_DEADLINE_MS = 60_000;

export interface RemoteConfigHooks {
  /** Makes `next` the running config, restarting only what `changed` touches. */
  apply(next: AgentConfig, previous: AgentConfig, changed: RemoteSection[]): Promise<void>;
  /**
   * Resolves null once the agent is healthy after an apply of `changed`, or a reason when it is
   * not by the time `signal` aborts on the deadline.
   */
  healthy(changed: RemoteSection[], signal: AbortSignal): Promise<string | null>;
  report(applied: AppliedConfig): void;
  event(type: 'config-applied' | 'config-reverted' | 'config-rejected', message: string): void;
}

export interface RemoteConfigOptions {
  /** The agent's own file config: the base every fragment is laid over. */
  local: AgentConfig;
  dataDir: string;
  logger: Logger;
  deadlineMs?: number;
}

/** The local config with a fragment laid over it, validated by the agent's own schema. */
export function effectiveConfig(local: AgentConfig, settings: ConfigFragment): AgentConfig {
  const result = AgentConfigSchema.safeParse(mergeSettings(local, settings));
  if (!result.success) throw new Error(describeIssues(result.error.issues));
  return result.data;
}

/** All sections count as changed when an unconfirmed candidate is checked again at start. */
const ALL_SECTIONS: RemoteSection[] = ['camera', 'cameras', 'frames', 'samples', 'predictions', 'updates'];

/** The effective config, or why there is none (the caller reports it as a revert reason). */
function effectiveOrReason(local: AgentConfig, settings: ConfigFragment): AgentConfig | string {
  try {
    return effectiveConfig(local, settings);
  } catch (err) {
    return (err as Error).message;
  }
}

export class RemoteConfig {
  private running: AgentConfig;
  private candidate: StoredRemoteConfig['candidate'];
  /** What start() does first: check the candidate the agent started on, or revert it. */
  private boot: { check: true } | { revert: string } | null = null;
  private runningRevision: string | null;
  private lastGood: StoredRemoteConfig['lastGood'];
  private failedRevision: string | null;
  private status: AppliedConfig;
  private hooks: RemoteConfigHooks | null = null;
  private pending: DesiredConfig | null = null;
  private newest = '';
  private loop: Promise<void> | null = null;
  private wait: AbortController | null = null;
  private closed = false;
  private readonly file: string;
  private readonly deadlineMs: number;

  private constructor(
    private readonly o: RemoteConfigOptions,
    stored: StoredRemoteConfig,
  ) {
    this.file = join(o.dataDir, REMOTE_CONFIG_FILE);
    this.deadlineMs = o.deadlineMs ?? DEFAULT_HEALTH_DEADLINE_MS;
    this.lastGood = stored.lastGood;
    this.failedRevision = stored.failedRevision;
    this.candidate = stored.candidate ?? null;
    this.running = effectiveConfig(o.local, stored.lastGood.settings);
    this.runningRevision = stored.lastGood.revision;
    let status: AppliedConfig['status'] = 'applied';
    const candidate = this.candidate;
    if (candidate && candidate.boots === 0) {
      const next = effectiveOrReason(o.local, candidate.settings);
      if (typeof next === 'string') this.boot = { revert: `invalid with the local config: ${next}` };
      else {
        this.running = next;
        this.runningRevision = candidate.revision;
        this.boot = { check: true };
        status = 'applying';
      }
    } else if (candidate) {
      this.boot = { revert: 'the agent stopped during its health check twice' };
    }
    this.status = { revision: this.runningRevision, status, at: new Date().toISOString() };
  }

  /** Starts from the last good remote config on disk (so it holds without a network), else local only. */
  static async open(options: RemoteConfigOptions): Promise<RemoteConfig> {
    const empty: StoredRemoteConfig = { lastGood: { revision: null, settings: {} }, failedRevision: null };
    let stored = empty;
    try {
      const text = await readFile(join(options.dataDir, REMOTE_CONFIG_FILE), 'utf8');
      stored = RemoteConfigFileSchema.parse(JSON.parse(text));
      effectiveConfig(options.local, stored.lastGood.settings);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        options.logger.warn({ err }, 'stored remote config unusable; starting from the local config');
      }
      stored = empty;
    }
    const remote = new RemoteConfig(options, stored);
    if (remote.boot && 'check' in remote.boot && remote.candidate) {
      // Counted before the check runs: a crash during it makes the next start revert.
      remote.candidate = { ...remote.candidate, boots: remote.candidate.boots + 1 };
      await remote.persist();
      options.logger.warn(
        { revision: remote.candidate.revision },
        'starting on a remote config that was not confirmed healthy; checking it again',
      );
    }
    return remote;
  }

  /** The config the agent runs now (local + remote). */
  current(): AgentConfig {
    return this.running;
  }

  applied(): AppliedConfig {
    return this.status;
  }

  /** Hooks are attached once the parts they restart exist; offers wait until then. */
  start(hooks: RemoteConfigHooks): void {
    this.hooks = hooks;
    hooks.report(this.status);
    if (this.boot) {
      this.loop = this.checkBoot()
        .catch((err) => this.o.logger.error({ err }, 'remote config start-up check failed'))
        .finally(() => {
          this.loop = null;
          this.kick();
        });
      return;
    }
    this.kick();
  }

  /** A desired config from HTTP or MQTT. Older ones (by updatedAt) and repeats are ignored. */
  offer(desired: DesiredConfig): void {
    if (this.closed || desired.updatedAt < this.newest) return;
    this.newest = desired.updatedAt;
    this.pending = desired;
    // A newer target supersedes a candidate still proving itself.
    if (this.wait && desired.revision !== this.runningRevision) this.wait.abort(new Error('superseded'));
    this.kick();
  }

  /** Resolves once queued work is done (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.loop) await this.loop;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.pending = null;
    this.wait?.abort(new Error('agent closing'));
    await this.idle();
  }

  private kick(): void {
    if (this.loop || !this.hooks || !this.pending) return;
    this.loop = (async () => {
      while (this.pending && !this.closed) {
        const next = this.pending;
        this.pending = null;
        // The loop boundary: a failure is logged and reported here, never thrown on.
        try {
          await this.handle(next);
        } catch (err) {
          this.o.logger.error({ err, revision: next.revision }, 'remote config failed');
        }
      }
    })().finally(() => {
      this.loop = null;
      this.kick();
    });
  }

  /** The start-up check of an unconfirmed candidate (see the file comment). */
  private async checkBoot(): Promise<void> {
    const boot = this.boot;
    const candidate = this.candidate;
    this.boot = null;
    if (!boot || !candidate) return;
    if ('revert' in boot) {
      // Running lastGood already (the constructor did not take the candidate): report the revert.
      await this.revert(candidate.revision, boot.revert, false);
      return;
    }
    const problem = await this.healthWithin(ALL_SECTIONS);
    if (problem === 'superseded') return;
    if (problem === null) await this.confirm(candidate.revision, candidate.settings, ALL_SECTIONS);
    else await this.revert(candidate.revision, problem);
  }

  private setStatus(status: Omit<AppliedConfig, 'at'>): void {
    const detail = status.detail === undefined ? undefined : redactText(status.detail).slice(0, 500);
    this.status = { ...status, detail, at: new Date().toISOString() };
    this.hooks?.report(this.status);
  }

  private async handle(desired: DesiredConfig): Promise<void> {
    const hooks = this.hooks as RemoteConfigHooks;
    const log = this.o.logger;
    if (desired.revision === this.runningRevision) {
      // Asked for what it runs (e.g. the failed fragment was removed after a revert): say so.
      if (this.status.status !== 'applied')
        this.setStatus({ revision: this.runningRevision, status: 'applied' });
      return;
    }
    if (desired.revision !== null && desired.revision === this.failedRevision) {
      log.debug({ revision: desired.revision }, 'ignoring a remote config that already failed here');
      return;
    }
    let next: AgentConfig;
    try {
      next = effectiveConfig(this.o.local, desired.settings);
    } catch (err) {
      const detail = `refused revision ${desired.revision}: ${(err as Error).message}`;
      log.warn({ revision: desired.revision, detail }, 'remote config rejected');
      this.failedRevision = desired.revision;
      await this.persist();
      this.setStatus({
        revision: this.runningRevision,
        status: 'rejected',
        failedRevision: desired.revision ?? undefined,
        detail,
      });
      hooks.event('config-rejected', detail);
      return;
    }

    const previous = this.running;
    const changed = changedSections(previous, next);
    log.info({ revision: desired.revision, changed }, 'applying remote config');
    this.setStatus({ revision: this.runningRevision, status: 'applying' });
    // On disk before the apply: a crash from here on is noticed at the next start.
    this.candidate = { revision: desired.revision, settings: desired.settings, boots: 0 };
    await this.persist();
    this.running = next;
    this.runningRevision = desired.revision;
    let problem: string | null;
    try {
      await hooks.apply(next, previous, changed);
      problem = await this.healthWithin(changed);
    } catch (err) {
      problem = `apply failed: ${(err as Error).message}`;
    }
    if (problem === 'superseded') return; // the newer offer runs next, with lastGood unchanged
    if (problem === null) {
      await this.confirm(desired.revision, desired.settings, changed);
      return;
    }
    await this.revert(desired.revision, problem);
  }

  private async confirm(revision: string | null, settings: ConfigFragment, changed: RemoteSection[]) {
    this.lastGood = { revision, settings };
    this.failedRevision = null;
    this.candidate = null;
    await this.persist();
    this.setStatus({ revision, status: 'applied' });
    (this.hooks as RemoteConfigHooks).event(
      'config-applied',
      `applied revision ${revision ?? '(local only)'}: ${changed.join(', ') || 'no changes'}`,
    );
    this.o.logger.info({ revision, changed }, 'remote config applied');
  }

  private async healthWithin(changed: RemoteSection[]): Promise<string | null> {
    const wait = new AbortController();
    this.wait = wait;
    const timer = setTimeout(() => wait.abort(new Error('deadline')), this.deadlineMs);
    // close() came while the apply ran, before there was a wait to abort.
    if (this.closed) wait.abort(new Error('agent closing'));
    try {
      const problem = await (this.hooks as RemoteConfigHooks).healthy(changed, wait.signal);
      const reason = (wait.signal.reason as Error | undefined)?.message;
      if (reason === 'superseded' || reason === 'agent closing') return 'superseded';
      return problem;
    } finally {
      clearTimeout(timer);
      this.wait = null;
    }
  }

  /** `restart` false: the last good config already runs (a candidate reverted before it started). */
  private async revert(failed: string | null, problem: string, restart = true): Promise<void> {
    const hooks = this.hooks as RemoteConfigHooks;
    const bad = this.running;
    const good = effectiveConfig(this.o.local, this.lastGood.settings);
    const detail = `reverted revision ${failed} to ${this.lastGood.revision ?? 'the local config'}: ${problem}`;
    this.o.logger.warn({ failed, lastGood: this.lastGood.revision, problem }, 'remote config reverted');
    this.running = good;
    this.runningRevision = this.lastGood.revision;
    this.failedRevision = failed;
    this.candidate = null;
    await this.persist();
    try {
      if (restart) await hooks.apply(good, bad, changedSections(bad, good));
    } catch (err) {
      this.o.logger.error({ err }, 'reverting the remote config failed');
    }
    this.setStatus({
      revision: this.lastGood.revision,
      status: 'reverted',
      failedRevision: failed ?? undefined,
      detail,
    });
    hooks.event('config-reverted', detail);
  }

  private async persist(): Promise<void> {
    const stored: StoredRemoteConfig = {
      lastGood: this.lastGood,
      failedRevision: this.failedRevision,
      candidate: this.candidate,
    };
    await writeFileAtomic(this.file, JSON.stringify(stored), { mode: 0o600 });
  }
}
