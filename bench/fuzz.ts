/**
 * Fuzzing, bounded, with figures:
 *
 *   npx edgeloop bench fuzz --json [--inputs 10000] [--seed 1]
 *
 * Sends hostile inputs to a real control plane process (a real aedes broker, a real device's
 * credentials) and checks properties, not answers (bench/fuzz/): HTTP bodies for every route of
 * the contract, built from its schemas and mutated; random and truncated MQTT payloads on every
 * device topic; image bombs, truncated JPEG/PNG/WebP and malformed multipart on the upload
 * routes; manifests with each field tampered against the agent's verifier. Prints one JSON object
 * {"inputs","crashes","unexpected5xx","stateChangedByRejected","otherDefects",…}; exits 1 when any
 * defect figure is not 0.
 */
import { parseArgs } from 'node:util';
import { runFuzz } from './fuzz/run-fuzz.ts';

export async function benchMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      inputs: { type: 'string', default: '10000' },
      seed: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const log = (msg: string) => values.json || process.stderr.write(`${msg}\n`);
  const figures = await runFuzz({ inputs: Number(values.inputs), seed: Number(values.seed), log });
  const { classes, ...summary } = figures;
  process.stdout.write(`${JSON.stringify(values.json ? figures : summary, null, values.json ? 0 : 2)}\n`);
  const clean =
    figures.crashes === 0 &&
    figures.unexpected5xx === 0 &&
    figures.stateChangedByRejected === 0 &&
    figures.otherDefects === 0;
  return clean ? 0 : 1;
}
