/** `edgeloop pipeline`: start a retraining run by hand, follow it, list history, cancel. */
import { type PipelineRun, ValidationError } from '@edgeloop/shared';
import { LOOP_OPTIONS, loopClient } from '../options/connection-options.ts';
import { defineCommand, type OptionDefs, type ParsedArgs } from '../options/option-types.ts';
import { print } from '../output/print-result.ts';

const options = {
  ...LOOP_OPTIONS,
  wait: { type: 'boolean', description: 'run: follow the run to its end (exit 1 unless it succeeded)' },
} as const satisfies OptionDefs;

export const pipelineCommand = defineCommand({
  name: 'pipeline',
  summary: 'retraining pipeline: run (by hand), runs (history), show, cancel',
  usage: 'edgeloop pipeline <subcommand> [options]',
  subcommands: [
    {
      usage: 'run [--wait]',
      summary: 'start a run (it queues behind a run in progress); --wait follows it to the end',
    },
    { usage: 'runs', summary: 'run history, newest first' },
    { usage: 'show RUN', summary: "one run: each step's status, attempts, duration, artifacts and log" },
    { usage: 'cancel RUN', summary: 'cancel a queued or running run' },
  ],
  options,
  run: (args): Promise<number> => pipeline(args),
});

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

async function pipeline({ values, positionals }: ParsedArgs<typeof options>): Promise<number> {
  const [sub, id] = positionals;
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
