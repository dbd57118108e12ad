/**
 * A real program in a child process whose stdout carries pino JSON lines (and plain lines, kept as
 * { text }): tests wait for a given line, then kill or stop it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

export type LogLine = { msg?: string; text?: string; modelVersion?: number; [k: string]: unknown };

export class JsonLogProcess {
  readonly lines: LogLine[] = [];
  readonly child: ChildProcess;
  private waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];

  /**
   * `processGroup`: start it in a group of its own and signal the whole group, for programs that
   * leave the parent's reach (chroot --userspec drops the parent-death signal with the uid change).
   */
  constructor(
    command: string,
    args: string[],
    private readonly options: { env?: NodeJS.ProcessEnv; cwd?: string; processGroup?: boolean } = {},
  ) {
    this.child = spawn(command, args, {
      env: options.env,
      cwd: options.cwd,
      detached: options.processGroup,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    createInterface({ input: this.child.stdout! }).on('line', (text) => {
      let line: LogLine;
      try {
        line = JSON.parse(text);
      } catch {
        line = { text };
      }
      this.lines.push(line);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(line)) return true;
        w.resolve(line);
        return false;
      });
    });
  }

  waitFor(match: (l: LogLine) => boolean, what: string, timeoutMs = 20_000): Promise<LogLine> {
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`process never logged ${what}`)), timeoutMs);
      const exited = () =>
        reject(new Error(`process exited (${this.child.exitCode}) before logging ${what}`));
      this.child.once('exit', exited);
      this.waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(timer);
          this.child.off('exit', exited);
          resolve(l);
        },
      });
    });
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    if (this.options.processGroup) process.kill(-this.child.pid!, signal);
    else this.child.kill(signal);
    await exited;
  }
}
