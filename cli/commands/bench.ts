/**
 * `edgeloop bench <name> [options]`: each benchmark is one module `bench/<name>.ts` exporting
 * `benchMain(argv): Promise<number>`. Benchmarks print one JSON object with `--json`; speed and
 * memory targets live there, never in timed unit tests.
 */
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { defineCommand } from '../options/option-types.ts';

const benchDir = fileURLToPath(new URL('../../bench/', import.meta.url));

interface BenchModule {
  benchMain: (argv: string[]) => Promise<number>;
}

/** Benchmarks are the bench/*.ts files that export benchMain (read, not imported: no side effects). */
async function available(): Promise<string[]> {
  const files = (await readdir(benchDir)).filter((f) => f.endsWith('.ts')).sort();
  const names: string[] = [];
  for (const f of files) {
    const text = await readFile(`${benchDir}${f}`, 'utf8');
    if (/export async function benchMain\b/.test(text)) names.push(f.slice(0, -3));
  }
  return names;
}

export const benchCommand = defineCommand({
  name: 'bench',
  summary: 'run a benchmark from bench/ and print its figures (bench <name> --json)',
  usage: 'edgeloop bench <name> [--json] [options]',
  description:
    'Runs bench/<name>.ts. Everything after the name goes to the benchmark, which parses its own options (`edgeloop bench <name> --help`); with --json a benchmark prints one JSON object.',
  options: {},
  passthrough: true,
  moreHelp: async () => `Benchmarks: ${(await available()).join(', ')}\n`,
  async run({ positionals }): Promise<number> {
    const [name, ...rest] = positionals;
    if (!name) {
      process.stdout.write(
        `Usage: edgeloop bench <name> [--json] [options]\n\nBenchmarks: ${(await available()).join(', ')}\n`,
      );
      return 2;
    }
    if (!/^[a-z0-9-]+$/.test(name)) {
      process.stderr.write(`edgeloop bench: '${name}' is not a benchmark name\n`);
      return 2;
    }
    const names = await available();
    if (!names.includes(name)) {
      process.stderr.write(
        `edgeloop bench: unknown benchmark '${name}' (have: ${names.join(', ') || 'none'})\n`,
      );
      return 2;
    }
    const mod = (await import(new URL(`${name}.ts`, `file://${benchDir}`).href)) as BenchModule;
    return mod.benchMain(rest);
  },
});
