/**
 * A benchmark's share of simulated devices in a process of its own (`node --import tsx SCRIPT
 * SPEC.json`): it reports on stdout as JSON lines, takes commands on stdin as JSON lines, and stops
 * on SIGTERM. Subclasses read the lines they expect in `onLine`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export abstract class ShardProcess<Line> {
  readonly child: ChildProcess;
  private readonly exited: Promise<unknown>;

  constructor(script: string, specPath: string) {
    this.child = spawn(process.execPath, ['--import', 'tsx', script, specPath], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.exited = new Promise((r) => this.child.once('exit', r));
    createInterface({ input: this.child.stdout! }).on('line', (text) =>
      this.onLine(JSON.parse(text) as Line),
    );
  }

  protected abstract onLine(line: Line): void;

  send(command: object): void {
    this.child.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(): Promise<void> {
    if (this.alive()) this.child.kill('SIGTERM');
    await this.exited;
  }
}
