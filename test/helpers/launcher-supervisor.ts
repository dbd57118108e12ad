/**
 * Runs deploy/device/edgeloop-launcher the way systemd runs the unit (Restart=always): started
 * again shortly after it exits, each start in a process group of its own, so `powerCut()` can
 * SIGKILL the launcher, the agent and whatever they run at once, as a power cut would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { LogLine } from './json-log-process.ts';
import type { KillTarget } from './kill-points.ts';

export interface LauncherOptions {
  launcher: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  restartDelayMs?: number;
}

export class LauncherSupervisor {
  readonly lines: string[] = [];
  /** The same lines, the agent's pino JSON parsed (others as { text }). */
  readonly log: LogLine[] = [];
  readonly exits: (number | null)[] = [];
  starts = 0;
  private child: ChildProcess | null = null;
  private stopped = true;
  private timer: NodeJS.Timeout | null = null;
  private waiters: {
    match: (l: LogLine, text: string) => boolean;
    from: number;
    resolve: (l: LogLine) => void;
  }[] = [];

  constructor(private readonly options: LauncherOptions) {}

  start(): void {
    this.stopped = false;
    this.spawn();
  }

  private spawn(): void {
    this.starts++;
    const child = spawn(this.options.launcher, this.options.args, {
      env: this.options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        let parsed: LogLine;
        try {
          parsed = JSON.parse(line);
        } catch {
          parsed = { text: line };
        }
        this.lines.push(line);
        this.log.push(parsed);
        this.waiters = this.waiters.filter((w) => {
          if (this.lines.length - 1 < w.from || !w.match(parsed, line)) return true;
          w.resolve(parsed);
          return false;
        });
      });
    }
    child.on('exit', (code) => {
      this.exits.push(code);
      if (this.child === child) this.child = null;
      if (!this.stopped) this.timer = setTimeout(() => this.spawn(), this.options.restartDelayMs ?? 300);
    });
  }

  /** Index of the next line, to wait for lines logged after now. */
  mark(): number {
    return this.lines.length;
  }

  waitFor(match: RegExp, from = 0, timeoutMs = 60_000): Promise<void> {
    return this.waitForLine((_, text) => match.test(text), `${match}`, from, timeoutMs).then(() => {});
  }

  /** The first line from `from` on that `match` accepts (a JSON line parsed). */
  waitForLine(
    match: (l: LogLine, text: string) => boolean,
    what: string,
    from = 0,
    timeoutMs = 60_000,
  ): Promise<LogLine> {
    const seen = this.log.findIndex((l, i) => i >= from && match(l, this.lines[i]));
    if (seen >= 0) return Promise.resolve(this.log[seen]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`launcher never logged ${what}`)), timeoutMs);
      this.waiters.push({
        match,
        from,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }

  /** This device as kill-points.ts drives it: a kill is a power cut, the lines go on across starts. */
  killTarget(): KillTarget {
    return {
      lines: this.log,
      waitFor: (match, what, timeoutMs) => this.waitForLine(match, what, 0, timeoutMs),
      kill: () => this.powerCut(),
    };
  }

  /** SIGKILL to the whole process group, and no restart until start() (the power is off). */
  async powerCut(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
    await exited;
  }

  /** A clean stop: SIGTERM to the group (as systemd stops a unit), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    process.kill(-child.pid!, 'SIGTERM');
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
