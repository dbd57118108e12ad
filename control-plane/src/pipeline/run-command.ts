/**
 * Runs one pipeline command as a child process (the trainer is a separate program: the control
 * plane never imports it). Output streams into the step's log as it arrives; an abort (cancel) or
 * the step timeout ends the child with SIGTERM, then SIGKILL if it lingers.
 */
import { spawn } from 'node:child_process';
import { EdgeloopError } from '@edgeloop/shared';

export interface CommandResult {
  stdout: string;
}

const KILL_GRACE_MS = 5_000;

export function runCommand(
  argv: readonly string[],
  options: {
    signal: AbortSignal;
    timeoutMs: number;
    onOutput: (text: string) => void;
    captureStdout?: boolean;
  },
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    if (options.signal.aborted) {
      reject(new EdgeloopError('INTERNAL', 'cancelled'));
      return;
    }
    const [command, ...args] = argv;
    options.onOutput(`$ ${argv.join(' ')}\n`);
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    const stdout: string[] = [];
    let ended: string | null = null;
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      if (options.captureStdout) stdout.push(text);
      else options.onOutput(text);
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => options.onOutput(text));

    const stop = (why: string) => {
      ended = why;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS).unref();
    };
    const onAbort = () => stop('cancelled');
    options.signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => stop(`timed out after ${options.timeoutMs} ms`), options.timeoutMs);

    child.on('error', (err) => {
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      reject(new EdgeloopError('INTERNAL', `cannot start ${command}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      if (ended) reject(new EdgeloopError('INTERNAL', `${command} ${ended}`));
      else if (code === 0) resolve({ stdout: stdout.join('') });
      else
        reject(new EdgeloopError('INTERNAL', `${argv.slice(0, 3).join(' ')} exited with ${code ?? signal}`));
    });
  });
}
