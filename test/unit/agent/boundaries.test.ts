/** Keeps the agent's layering honest: heavy libraries have one importer, other programs none. */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '../../../agent/src');

async function sources(): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const entry of await readdir(SRC, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const path = join(entry.parentPath, entry.name);
    const text = await readFile(path, 'utf8');
    const specifiers = [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm)].map(
      (m) => m[1],
    );
    out.set(relative(SRC, path), specifiers);
  }
  return out;
}

function importersOf(files: Map<string, string[]>, pkg: string): string[] {
  return [...files]
    .filter(([, specs]) => specs.some((s) => s === pkg || s.startsWith(`${pkg}/`)))
    .map(([f]) => f);
}

describe('agent import boundaries', () => {
  it('imports each heavy library from exactly one adapter', async () => {
    const files = await sources();
    expect(importersOf(files, 'mqtt')).toEqual(['comms/mqtt-link.ts']);
    expect(importersOf(files, 'onnxruntime-node')).toEqual(['inference/onnx-backend.ts']);
    expect(importersOf(files, 'sharp')).toEqual(['image/sharp-image.ts']);
  });

  it('depends on shared only, never on the other programs', async () => {
    const files = await sources();
    for (const pkg of ['@edgeloop/control-plane', '@edgeloop/trainer', 'aedes', 'zod']) {
      expect(importersOf(files, pkg), pkg).toEqual([]);
    }
    const reachingOut = [...files].filter(([, specs]) => specs.some((s) => /^\.\.\/\.\.\//.test(s)));
    expect(reachingOut.map(([f]) => f)).toEqual([]);
  });

  it('logs through pino, not console (except the CLI)', async () => {
    for (const [file] of await sources()) {
      if (file === 'cli.ts') continue;
      expect(await readFile(join(SRC, file), 'utf8'), file).not.toMatch(/console\./);
    }
  });
});
