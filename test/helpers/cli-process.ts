/**
 * An `edgeloop` command running as a real child process, as systemd or a container runs it: lines
 * it writes can be awaited, it can be signalled, and its exit (code, signal, time since the
 * signal) is what a test asserts. Pino JSON lines are parsed; other lines keep their text in `msg`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { edgeloopArgv } from './edgeloop-cli.ts';

export type OutputLine = { msg?: string; stream: 'stdout' | 'stderr'; [key: string]: unknown };

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From the signal sent by stop() (or from spawn when the process ended by itself). */
  ms: number;
}

export class CliProcess {
  readonly lines: OutputLine[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  private waiters: { match: (l: OutputLine) => boolean; resolve: (l: OutputLine) => void }[] = [];
  private since = performance.now();

  constructor(command: string, args: string[], env: NodeJS.ProcessEnv = {}) {
    const [node, ...argv] = edgeloopArgv(command);
    this.child = spawn(node, [...argv, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: this.child[stream]! }).on('line', (text) => this.add(text, stream));
    }
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) =>
        resolve({ code, signal, ms: Math.round(performance.now() - this.since) }),
      );
    });
  }

  private add(text: string, stream: OutputLine['stream']): void {
    let line: OutputLine;
    try {
      line = { ...JSON.parse(text), stream };
    } catch {
      line = { msg: text, stream };
    }
    this.lines.push(line);
    this.waiters = this.waiters.filter((w) => {
      if (!w.match(line)) return true;
      w.resolve(line);
      return false;
    });
  }

  /** The first line (already written or still to come) that matches; fails if the process exits first. */
  waitFor(match: (l: OutputLine) => boolean, what: string, timeoutMs = 60_000): Promise<OutputLine> {
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        reject(new Error(`${what}: ${why}\n${this.tail()}`));
      };
      const timer = setTimeout(() => fail(`not seen within ${timeoutMs} ms`), timeoutMs);
      this.exited.then((exit) => fail(`process exited first (${exit.signal ?? exit.code})`));
      this.waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }

  logged(msg: string): boolean {
    return this.lines.some((l) => l.msg === msg);
  }

  /** Sends `signal` and resolves with the exit, timed from the signal. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.since = performance.now();
    this.child.kill(signal);
    return this.exited;
  }

  /** For afterAll: whatever state it is in, it is gone afterwards. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** The last lines, for failure messages. */
  tail(n = 15): string {
    return this.lines
      .slice(-n)
      .map((l) => `  [${l.stream}] ${l.msg ?? JSON.stringify(l)}`)
      .join('\n');
  }
}
