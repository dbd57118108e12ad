/** `edgeloop demo`: runs the whole loop and prints what happened. */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DEFAULT_DEMO_OPTIONS, type DemoSummary } from '../demo/demo-options.ts';
import { defineCommand, type OptionDefs, type ParsedArgs } from '../options/option-types.ts';

const options = {
  'work-dir': {
    type: 'string',
    value: 'DIR',
    default: '.edgeloop/demo',
    description:
      'where data, models and logs go (a folder the demo made is wiped first, any other must be empty)',
  },
  devices: {
    type: 'number',
    value: 'N',
    integer: true,
    min: 1,
    max: 20,
    default: DEFAULT_DEMO_OPTIONS.devices,
    description: 'simulated devices',
  },
  summary: { type: 'string', value: 'FILE', description: 'also write the summary as JSON' },
  'keep-running': {
    type: 'boolean',
    default: false,
    description: 'leave the control plane and agents running and print their URLs',
  },
} as const satisfies OptionDefs;

export const demoCommand = defineCommand({
  name: 'demo',
  summary: 'run the whole loop on this machine: train → roll out → collect → label → retrain',
  usage: 'edgeloop demo [options]',
  description:
    "Runs edgeloop's whole loop on this machine with real parts: a control plane (HTTP API, embedded MQTT broker, SQLite, retraining pipeline), simulated devices whose agents run onnxruntime on synthetic camera frames, and the trainer as the pipeline's child process. A pipeline run trains and rolls out v1; the demo collects the frames the devices were unsure about, labels them in the labelling queue (standing in for a person), and a second pipeline run trains v2 from v1 on a dataset version with them and rolls it out.",
  options,
  run: (args): Promise<number> => demo(args),
});

function pct(v: number | null): string {
  return v === null ? 'n/a' : `${(v * 100).toFixed(1)}%`;
}

export function formatSummary(s: DemoSummary): string {
  const last = s.versions.at(-1);
  const lines = [
    '',
    '── edgeloop demo summary ──────────────────────────────────────────',
    'version  devices  val acc  int8 acc (agree)  field acc (frames)   train images (field)  canary',
    ...s.versions.map(
      (v) =>
        `v${String(v.version).padEnd(7)} ${String(v.devicesActive).padEnd(8)} ${pct(v.valAccuracy).padEnd(8)} ${`${pct(v.int8ValAccuracy)} (${pct(v.int8Agreement)})`.padEnd(17)} ${`${pct(v.fieldAccuracy)} (${v.fieldPredictions})`.padEnd(20)} ${`${v.trainImages} (${v.fieldSamplesUsed})`.padEnd(21)} ${v.canaryDevice}`,
    ),
    `samples reported by devices: ${s.samplesReported}, labelled: ${s.samplesLabelled}, used in retraining: ${s.samplesUsedInRetraining} (${last?.fieldSamplesUsed ?? 0} trained on, ${(last?.fieldSamplesInDatasetVersion ?? 0) - (last?.fieldSamplesUsed ?? 0)} held out as field-hard)`,
    `took ${s.seconds.toFixed(0)}s`,
    '',
  ];
  return lines.join('\n');
}

async function demo({ values }: ParsedArgs<typeof options>): Promise<number> {
  const { runDemo } = await import('../demo/run-demo.ts');
  const started = Date.now();
  const report = (line: string) => {
    const t = ((Date.now() - started) / 1000).toFixed(0).padStart(4);
    process.stdout.write(`[${t}s] ${line}\n`);
  };
  const handle = await runDemo(
    {
      ...DEFAULT_DEMO_OPTIONS,
      devices: values.devices,
      workDir: resolve(values['work-dir']),
      keepRunning: values['keep-running'],
    },
    report,
  );
  process.stdout.write(formatSummary(handle.summary));
  if (values.summary) {
    await writeFile(values.summary, `${JSON.stringify(handle.summary, null, 2)}\n`);
    process.stdout.write(`summary written to ${values.summary}\n`);
  }
  if (values['keep-running']) {
    process.stdout.write(
      `\nstill running (Ctrl-C to stop):\n  control plane  ${handle.controlPlane.httpUrl}\n  dashboard      ${handle.controlPlane.httpUrl}/ui/ (name admin, password: the admin token)\n  MQTT broker    ${handle.controlPlane.mqttUrl}\n  admin token    ${handle.controlPlane.adminToken}\n`,
    );
    await new Promise<void>((resolveStop) => {
      process.once('SIGINT', resolveStop);
      process.once('SIGTERM', resolveStop);
    });
  }
  await handle.close();
  return 0;
}
