/** `edgeloop pipeline`: start a retraining run by hand, follow it, list history, cancel. */
import { parseArgs } from 'node:util';
import { type PipelineRun, ValidationError } from '@edgeloop/shared';
import { CLIENT_HELP, CLIENT_OPTIONS, loopClient, print } from './loop-client.ts';

const HELP = `Usage: edgeloop pipeline <subcommand> [options]

  run [--wait]     start a run (it queues behind a run in progress); --wait follows it to the end
  runs             run history, newest first
  show RUN         one run: each step's status, attempts, duration, artifacts and log
  cancel RUN       cancel a queued or running run

${CLIENT_HELP}
`;

const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

export function formatRun(run: PipelineRun, withLogs = false): string {
  const lines = [
    `${run.id}  ${run.status}  (${run.trigger} by ${run.requestedBy}, created ${run.createdAt})${run.error ? `\n  error: ${run.error}` : ''}`,
  ];
  for (const s of run.steps) {
    const secs = s.durationMs === null ? '' : ` ${(s.durationMs / 1000).toFixed(1)}s`;
    lines.push(
      `  ${s.name.padEnd(9)} ${s.status.padEnd(9)} attempts ${s.attempts}${secs} ${JSON.stringify(s.artifacts)}`,
    );
    if (withLogs && s.log) lines.push(s.log.replace(/^/gm, '      | ').trimEnd());
  }
  return lines.join('\n');
}

export async function pipelineCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...CLIENT_OPTIONS, wait: { type: 'boolean' } },
  });
  const [sub, id] = positionals;
  if (values.help || !sub) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  const client = loopClient(values);
  const get = (runId: string) => client.pipelineRun(runId);
  switch (sub) {
    case 'run': {
      let run = await client.triggerPipeline();
      if (!values.wait) {
        print(values.json, run, () => `${run.id} ${run.status}`);
        return 0;
      }
      // Polling the run's record is how a remote CLI follows it; the control plane keeps the history.
      while (!FINISHED.has(run.status)) {
        await new Promise((r) => setTimeout(r, 2000));
        run = await get(run.id);
      }
      print(values.json, run, () => formatRun(run));
      return run.status === 'succeeded' ? 0 : 1;
    }
    case 'runs': {
      const runs = await client.listPipelineRuns();
      print(values.json, runs, () => runs.map((r) => formatRun(r)).join('\n'));
      return 0;
    }
    case 'show': {
      if (!id) throw new ValidationError('pipeline show needs a RUN id');
      const run = await get(id);
      print(values.json, run, () => formatRun(run, true));
      return 0;
    }
    case 'cancel': {
      if (!id) throw new ValidationError('pipeline cancel needs a RUN id');
      const run = await client.cancelPipelineRun(id);
      print(values.json, run, () => `${run.id} ${run.status}`);
      return 0;
    }
    default:
      throw new ValidationError(`unknown pipeline subcommand '${sub}'`);
  }
}
