/**
 * A power-cut driver, as Mender tests its updates: the program under test runs as a real process,
 * an update is started, and the process is SIGKILLed at a chosen point of it (a named step, or a
 * random moment drawn from a seeded RNG across the update's window), then started again; the
 * caller checks what the cut left on disk and that the restarted program comes back and converges.
 *
 * Nothing here knows about models: a round supplies how to start its update, which log line the
 * point's delay counts from, and the checks. Random moments come from shared's seeded `createRng`,
 * so a failing seed can be replayed. Model installs (an agent process) and agent self-updates (a
 * launcher with the agent it runs, launcher-supervisor.ts) use the same loop.
 */
import type { JsonLogProcess, LogLine } from './json-log-process.ts';

/** What a power cut stops: a program that logs lines (JSON parsed), killed with SIGKILL. */
export interface KillTarget {
  readonly lines: readonly LogLine[];
  waitFor(match: (l: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  kill(signal: 'SIGKILL'): Promise<void>;
}

export interface KillPoint {
  /** The log line (of the update under test) the delay counts from. */
  after: string;
  delayMs: number;
  /** 'named' cuts right at (or just after) a step; 'random' at a seeded moment in the window. */
  kind: 'named' | 'random';
}

export function describePoint(p: KillPoint): string {
  return `${p.kind} ${p.after}+${p.delayMs}ms`;
}

/**
 * `random` points anchored on `anchor` with delays uniform over [0, windowMs), plus the named
 * ones, shuffled together so named steps fall at different stages of the run.
 */
export function killPlan(o: {
  rng: () => number;
  named: readonly Omit<KillPoint, 'kind'>[];
  random: number;
  anchor: string;
  windowMs: number;
}): KillPoint[] {
  const points: KillPoint[] = [
    ...o.named.map((p) => ({ ...p, kind: 'named' as const })),
    ...Array.from({ length: o.random }, () => ({
      after: o.anchor,
      delayMs: Math.round(o.rng() * o.windowMs),
      kind: 'random' as const,
    })),
  ];
  for (let i = points.length - 1; i > 0; i--) {
    const j = Math.floor(o.rng() * (i + 1));
    [points[i], points[j]] = [points[j], points[i]];
  }
  return points;
}

/** One update cut by one kill. */
export interface KillRound<P extends KillTarget> {
  /** Starts the update (e.g. assigns a version) on the running process. */
  begin(proc: P): Promise<void>;
  /** Whether `line` is `point.after` of this round's update (not of an earlier one). */
  isAnchor(line: LogLine, point: KillPoint): boolean;
  /** How long the anchor may take to appear (default 20 s). */
  anchorTimeoutMs?: number;
  /** With the process dead: checks what the cut left on disk; returns an outcome label. */
  afterKill(point: KillPoint): Promise<string>;
  /** With a new process: waits until it came back and finished the update; may refine the label. */
  recover(proc: P, outcome: string): Promise<string>;
}

export interface KillRunSummary {
  points: number;
  restarts: number;
  /** How many cuts ended in each outcome (e.g. 'came back on the old version'). */
  outcomes: Record<string, number>;
  ms: number;
}

/**
 * Runs every point: begin the round's update, wait for the anchor, wait the delay, SIGKILL, check
 * the disk, start a new process, recover. Returns the process left running and a summary.
 */
export async function runKillPoints<P extends KillTarget>(o: {
  proc: P;
  points: readonly KillPoint[];
  round(index: number, point: KillPoint): KillRound<P>;
  /** A new process (e.g. `WarmSpare.take`). */
  start(): P | Promise<P>;
  /** Called after each point (progress output, extra checks). */
  onPoint?(index: number, point: KillPoint, outcome: string, ms: number): void;
}): Promise<{ proc: P; summary: KillRunSummary }> {
  const started = Date.now();
  const outcomes: Record<string, number> = {};
  let proc = o.proc;
  let restarts = 0;
  for (const [index, point] of o.points.entries()) {
    const t0 = Date.now();
    const round = o.round(index, point);
    const current = proc;
    // Only lines logged after the update began count (a restarted process may have logged the
    // same step for an earlier update while it recovered).
    const from = current.lines.length;
    const anchor = current.waitFor(
      (l) => round.isAnchor(l, point) && current.lines.indexOf(l) >= from,
      `${describePoint(point)} (point ${index})`,
      round.anchorTimeoutMs,
    );
    await round.begin(current);
    await anchor;
    if (point.delayMs > 0) await new Promise((r) => setTimeout(r, point.delayMs));
    await current.kill('SIGKILL');
    let outcome = await round.afterKill(point);
    proc = await o.start();
    restarts++;
    outcome = await round.recover(proc, outcome);
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    o.onPoint?.(index, point, outcome, Date.now() - t0);
  }
  return { proc, summary: { points: o.points.length, restarts, outcomes, ms: Date.now() - started } };
}

/**
 * One spare process kept started and waiting: a program that loads its modules, logs
 * `{"msg":"standby"}` and waits for SIGUSR2 before it touches anything (agent-process.ts with
 * EDGELOOP_AGENT_STANDBY=1). A restart after a cut then costs the program's own start-up, not
 * Node's and the TypeScript loader's, which keeps a point cheap without changing what is tested.
 */
export class WarmSpare<P extends JsonLogProcess> {
  private spare: P;

  constructor(private readonly spawn: () => P) {
    this.spare = spawn();
  }

  /** Wakes the spare and starts loading the next one. */
  async take(): Promise<P> {
    const proc = this.spare;
    await proc.waitFor((l) => l.msg === 'standby', 'standby', 120_000);
    proc.child.kill('SIGUSR2');
    this.spare = this.spawn();
    return proc;
  }

  async close(): Promise<void> {
    await this.spare.kill();
  }
}
