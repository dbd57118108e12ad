/**
 * What the control plane and the agent write is theirs alone: every file 0600, every folder 0700
 * (also a data folder that existed with looser modes), key files created atomically and never
 * over an existing one, and the pipeline's default commands run this installation's edgeloop,
 * not `npx`.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ControlPlaneConfigSchema, createFileAtomicSync, silentLogger } from '@edgeloop/shared';
import { afterAll, describe, expect, it } from 'vitest';
import { SampleQueue } from '../../../agent/src/samples/sample-queue.ts';
import {
  EDGELOOP_LAUNCHER,
  withInstalledEdgeloop,
} from '../../../control-plane/src/pipeline/edgeloop-command.ts';
import { enroll, startTestControlPlane, tempDir } from './helpers.ts';
import { sampleMetadata, testImage, uploadSample } from './sample-helpers.ts';

/** Paths under `root` (root included) whose mode lets group or others in. */
function open(root: string): string[] {
  const loose: string[] = [];
  const walk = (path: string) => {
    const s = statSync(path);
    if ((s.mode & 0o077) !== 0) loose.push(`${path} ${(s.mode & 0o777).toString(8)}`);
    if (s.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(root);
  return loose;
}

const dirs = [tempDir(), tempDir()];
afterAll(() => {
  for (const d of dirs) d.remove();
});

describe('file modes', () => {
  it("keeps the control plane's data folder private, one it did not make included", async () => {
    const t = await startTestControlPlane();
    try {
      chmodSync(t.dataDir, 0o755); // as if made by hand, or by an older version
      await t.restart();
      const device = await enroll(t, 'cam-modes');
      const upload = await uploadSample(
        t,
        device,
        sampleMetadata('m1', [{ label: 'cat', confidence: 0.3 }]),
        await testImage(3),
      );
      expect(upload.status).toBe(201);
      const files = readdirSync(t.dataDir);
      // On Postgres (EDGELOOP_TEST_STORE=postgres) the database is not a file in the folder.
      const database = t.cp.store.engine === 'sqlite' ? ['control-plane.db'] : [];
      expect(files).toEqual(
        expect.arrayContaining(['admin-token', 'signing-key.json', 'objects', ...database]),
      );
      expect(open(t.dataDir)).toEqual([]);
    } finally {
      await t.stop();
    }
  });

  it("keeps the agent's queued samples private", async () => {
    const dir = join(dirs[0].path, 'queue');
    const queue = await SampleQueue.open(dir, { maxQueued: 4, logger: silentLogger() });
    await queue.add({
      metadata: sampleMetadata('q1', [{ label: 'cat', confidence: 0.2 }]),
      confidence: 0.2,
      jpeg: await testImage(4, 'jpeg'),
    });
    expect(readdirSync(dir).length).toBe(2);
    expect(open(dir)).toEqual([]);
  });

  it('creates key files atomically and never over an existing one', () => {
    const file = join(dirs[1].path, 'key');
    createFileAtomicSync(file, 'first');
    expect(() => createFileAtomicSync(file, 'second')).toThrow(/EEXIST/);
    expect(readFileSync(file, 'utf8')).toBe('first');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dirs[1].path)).toEqual(['key']); // no temp file left behind
  });
});

describe('pipeline commands', () => {
  it("run this installation's edgeloop by default, never npx", () => {
    const pipeline = withInstalledEdgeloop(ControlPlaneConfigSchema.parse({ dataDir: '/tmp/x' }).pipeline);
    expect(pipeline.trainCommand).toEqual([process.execPath, EDGELOOP_LAUNCHER, 'train']);
    expect(pipeline.predictCommand).toEqual([process.execPath, EDGELOOP_LAUNCHER, 'predict']);
    expect([...pipeline.trainCommand, ...pipeline.predictCommand]).not.toContain('npx');
    // The launcher is real: it answers as the CLI does.
    const [node, launcher] = pipeline.predictCommand;
    expect(execFileSync(node, [launcher, 'predict', '--help'], { encoding: 'utf8' })).toMatch(/--model/);
    // A command the config spells out is kept as written.
    const custom = withInstalledEdgeloop({ ...pipeline, trainCommand: ['python3', 'train.py'] });
    expect(custom.trainCommand).toEqual(['python3', 'train.py']);
  });
});
