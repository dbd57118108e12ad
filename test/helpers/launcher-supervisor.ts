/**
 * Runs deploy/device/edgeloop-launcher the way systemd runs the unit (Restart=always): started
 * again shortly after it exits, each start in a process group of its own, so `powerCut()` can
 * SIGKILL the launcher, the agent and whatever they run at once, as a power cut would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

export interface LauncherOptions {
  launcher: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  restartDelayMs?: number;
}

export class LauncherSupervisor {
  readonly lines: string[] = [];
  readonly exits: (number | null)[] = [];
  starts = 0;
  private child: ChildProcess | null = null;
  private stopped = true;
  private timer: NodeJS.Timeout | null = null;
  private waiters: { match: RegExp; from: number; resolve: () => void }[] = [];

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
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => {
          if (this.lines.length - 1 < w.from || !w.match.test(line)) return true;
          w.resolve();
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
    if (this.lines.slice(from).some((l) => match.test(l))) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`launcher never logged ${match}`)), timeoutMs);
      this.waiters.push({
        match,
        from,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
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
