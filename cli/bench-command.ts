/**
 * `edgeloop bench <name> [options]`: each benchmark is one module `bench/<name>.ts` exporting
 * `benchMain(argv): Promise<number>`. Benchmarks print one JSON object with `--json`; speed and
 * memory targets live there, never in timed unit tests.
 */
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const benchDir = fileURLToPath(new URL('../bench/', import.meta.url));

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

export async function benchCommand(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(
      `Usage: edgeloop bench <name> [--json] [options]\n\nBenchmarks: ${(await available()).join(', ')}\n`,
    );
    return name ? 0 : 2;
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
}
