/**
 * Keeps the layering the README promises: shared depends on nothing of ours; agent, control-plane
 * and trainer depend on shared and never on each other; each heavy library has one importer per
 * program (its adapter); commands (argv parsing, help, exit codes) live in cli/ only; no package
 * has an import cycle among its own files.
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const PROGRAMS = ['shared', 'agent', 'control-plane', 'trainer'] as const;

async function imports(pkg: string): Promise<{ file: string; spec: string; target: string | null }[]> {
  const src = join(ROOT, pkg, 'src');
  const out: { file: string; spec: string; target: string | null }[] = [];
  for (const entry of await readdir(src, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/\.(ts|mjs)$/.test(entry.name)) continue;
    const path = join(entry.parentPath, entry.name);
    const text = await readFile(path, 'utf8');
    for (const m of text.matchAll(
      /(?:^|\s)(?:import|export)\b[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/gm,
    )) {
      const spec = m[1] ?? m[2];
      const target = spec.startsWith('.')
        ? relative(ROOT, resolve(entry.parentPath, spec)).split(sep)[0]
        : null;
      out.push({ file: relative(ROOT, path), spec, target });
    }
  }
  return out;
}

describe('package dependency direction', () => {
  it.each(PROGRAMS)('%s imports only itself and shared among our packages', async (pkg) => {
    const bad = (await imports(pkg)).filter(({ spec, target }) => {
      const ours = spec.match(/^@edgeloop\/([^/]+)/)?.[1] ?? target;
      if (ours === null || ours === pkg) return false;
      return pkg === 'shared' || ours !== 'shared';
    });
    expect(bad).toEqual([]);
  });

  const adapters: Record<string, Record<string, string[]>> = {
    agent: {
      mqtt: ['agent/src/comms/mqtt-link.ts'],
      // The adapter is two files: the main-thread proxy and its worker thread.
      'onnxruntime-node': ['agent/src/inference/onnx-backend.ts', 'agent/src/inference/onnx-worker.mjs'],
      sharp: ['agent/src/image/sharp-image.ts'],
      'prom-client': ['agent/src/metrics/agent-metrics.ts'],
    },
    'control-plane': {
      aedes: ['control-plane/src/mqtt/broker.ts'],
      mqtt: ['control-plane/src/mqtt/mqtt-client.ts'],
      'better-sqlite3': ['control-plane/src/store/sqlite-store.ts'],
      pg: ['control-plane/src/store/postgres-store.ts'],
      kysely: ['control-plane/src/store/kysely-database.ts'],
      '@hono/node-server': ['control-plane/src/http/server.ts'],
      sharp: ['control-plane/src/samples/image-probe.ts'],
      '@aws-sdk/client-s3': ['control-plane/src/object-store/s3-object-store.ts'],
      'node-cron': ['control-plane/src/pipeline/pipeline-triggers.ts'],
      'prom-client': ['control-plane/src/metrics/control-plane-metrics.ts'],
    },
    trainer: {
      'onnxruntime-node': ['trainer/src/inference/onnx-runner.ts'],
      sharp: ['trainer/src/data/image-decoder.ts'],
    },
    shared: { pino: ['shared/src/logger.ts'] },
  };

  it.each(Object.keys(adapters))('%s imports each heavy library from one adapter', async (pkg) => {
    const found = await imports(pkg);
    for (const [lib, expected] of Object.entries(adapters[pkg])) {
      const importers = [
        ...new Set(found.filter((i) => i.spec === lib || i.spec.startsWith(`${lib}/`)).map((i) => i.file)),
      ];
      expect(importers.sort(), lib).toEqual(expected);
    }
  });
});

/** Every .ts/.mjs file under `dir` (relative to the repository root) with its text. */
async function sources(dir: string): Promise<{ file: string; text: string }[]> {
  const out: { file: string; text: string }[] = [];
  for (const entry of await readdir(join(ROOT, dir), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/\.(ts|mjs)$/.test(entry.name) || entry.parentPath.includes('node_modules'))
      continue;
    const path = join(entry.parentPath, entry.name);
    out.push({ file: relative(ROOT, path), text: await readFile(path, 'utf8') });
  }
  return out;
}

describe('commands live in cli/', () => {
  it.each(['agent', 'control-plane', 'trainer'])('no file under %s/ parses argv', async (pkg) => {
    const bad = (await sources(pkg))
      .filter(({ text }) =>
        /\bimport\s*\{[^}]*\bparseArgs\b[^}]*\}\s*from\s*'node:util'|process\.argv/.test(text),
      )
      .map(({ file }) => file);
    expect(bad).toEqual([]);
  });

  it('cli/ loads program packages only inside a command run (lazy: an agent-only device never loads the trainer)', async () => {
    const bad = (await sources('cli'))
      .filter(({ file }) => !file.startsWith('cli/demo/'))
      .flatMap(({ file, text }) =>
        [
          ...text.matchAll(
            /^import\s+(?!type\b)[^;]*?from\s+'(@edgeloop\/(?:agent|control-plane|trainer))'/gm,
          ),
        ].map((m) => `${file}: ${m[1]}`),
      );
    expect(bad).toEqual([]);
  });
});

/** Source roots checked for cycles: every package's src, and the command shelf. */
const SOURCE_ROOTS = [...PROGRAMS.map((p) => `${p}/src`), 'cli'];

/** file → the files of the same root it imports (relative specifiers, type-only imports included). */
async function relativeGraph(root: string): Promise<Map<string, string[]>> {
  const dir = join(ROOT, root);
  const graph = new Map<string, string[]>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/\.(ts|mjs)$/.test(entry.name)) continue;
    const path = join(entry.parentPath, entry.name);
    const text = await readFile(path, 'utf8');
    const targets = [
      ...text.matchAll(/(?:^|\s)(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/gm),
    ].map((m) => relative(ROOT, resolve(dirname(path), m[1] ?? m[2])));
    graph.set(relative(ROOT, path), [...new Set(targets)]);
  }
  return graph;
}

/** Every cycle a depth-first search meets, each as the files around it (first file repeated last). */
function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      const s = state.get(next);
      if (s === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return cycles;
}

describe('import cycles', () => {
  it('finds a cycle in a small graph (the checker itself works)', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(findCycles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
    expect(
      findCycles(
        new Map([
          ['a.ts', ['b.ts']],
          ['b.ts', []],
        ]),
      ),
    ).toEqual([]);
  });

  it.each(SOURCE_ROOTS)('%s has no import cycle among its files', async (root) => {
    const cycles = findCycles(await relativeGraph(root)).map((c) => c.join(' → '));
    expect(cycles).toEqual([]);
  });
});
