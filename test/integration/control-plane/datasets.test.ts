/**
 * Datasets and dataset versions end to end through the HTTP API and the `edgeloop dataset` CLI,
 * on the local object store and on S3 (a real s3rver).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DatasetVersionSchema, sha256Hex } from '@edgeloop/shared';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { datasetCommand } from '../../../cli/commands/dataset.ts';
import { runCommand } from '../../../cli/options/run-command.ts';
import { isFieldHard } from '../../../control-plane/src/datasets/dataset-versions.ts';
import { startS3, type TestS3 } from '../../helpers/s3-server.ts';
import {
  type Device,
  enroll,
  jsonBody,
  startTestControlPlane,
  type TestControlPlane,
  tempDir,
} from './helpers.ts';
import { sampleFrom, testImage } from './sample-helpers.ts';

let s3: TestS3;
let images: Server;
let imagesUrl: string;
const served = new Map<string, Uint8Array>();

beforeAll(async () => {
  s3 = await startS3();
  images = createServer((req, res) => {
    const bytes = served.get(req.url ?? '');
    if (!bytes) {
      res.writeHead(404).end('no such image');
      return;
    }
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': bytes.byteLength }).end(bytes);
  });
  await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
  imagesUrl = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await s3?.stop();
  await new Promise((resolve) => images.close(resolve));
});

describe.each(['local', 's3'] as const)('datasets with %s objects', (backend) => {
  let t: TestControlPlane;
  let cam: Device;
  const work = tempDir();
  let runs = 0;

  beforeEach(async () => {
    t = await startTestControlPlane({
      // The image server is on loopback, which dataset import refuses unless allowed (SSRF guard).
      datasetImport: { allowNetworks: ['127.0.0.1/32'] },
      ...(backend === 's3' ? { objectStore: s3.config(`datasets-${++runs}-${Date.now()}/`) } : {}),
    });
    cam = await enroll(t, 'cam-1');
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await t.stop();
  });
  afterAll(() => work.remove());

  const cli = (...args: string[]) =>
    runCommand(datasetCommand, [
      ...args,
      '--control-plane',
      t.cp.httpUrl,
      '--admin-token',
      t.cp.adminToken,
      '--actor',
      'erin',
    ]);

  async function datasets() {
    return (
      (await (await t.api('/datasets', { admin: true })).json()) as {
        datasets: { name: string; images: number; classes: Record<string, number> }[];
      }
    ).datasets;
  }

  it('imports a folder, an object-store prefix and URLs, each image once', async () => {
    // A folder on the admin's machine, uploaded by the CLI.
    const folder = join(work.path, `folder-${backend}`);
    for (const [label, seeds] of [
      ['circle', [1, 2]],
      ['square', [3]],
    ] as const) {
      mkdirSync(join(folder, label), { recursive: true });
      for (const seed of seeds) writeFileSync(join(folder, label, `${seed}.png`), await testImage(seed));
    }
    writeFileSync(join(folder, 'circle', 'broken.png'), 'not a png');
    expect(await cli('import', 'base', '--folder', folder)).toBe(1); // one file failed
    expect(await datasets()).toEqual([{ name: 'base', images: 3, classes: { circle: 2, square: 1 } }]);
    expect(await cli('import', 'base', '--folder', folder)).toBe(1);
    expect((await datasets())[0].images).toBe(3);

    // A prefix in the control plane's own object store (a folder, or an S3 prefix).
    await t.cp.objects.put('incoming/square/a.png', await testImage(10));
    await t.cp.objects.put('incoming/triangle/b.png', await testImage(11));
    await t.cp.objects.put('incoming/triangle/c.png', await testImage(1)); // same bytes as circle/1
    await t.cp.objects.put('incoming/loose.png', await testImage(12));
    const fromPrefix = await t.api('/datasets/base/import', {
      ...jsonBody({ protocol: 1, source: { kind: 'object-store', prefix: 'incoming/' } }),
      admin: true,
    });
    expect(await fromPrefix.json()).toEqual({
      added: 2,
      duplicates: 1,
      failed: [
        { source: 'object-store:incoming/loose.png', reason: 'not in a <prefix>/<class>/<file> layout' },
      ],
    });

    // URLs (a loopback server here), into the fixed evaluation set.
    served.set(`/${backend}/e1.png`, await testImage(20));
    served.set(`/${backend}/e2.png`, await testImage(21));
    const list = join(work.path, `urls-${backend}.txt`);
    writeFileSync(
      list,
      [
        `circle,${imagesUrl}/${backend}/e1.png`,
        `square,${imagesUrl}/${backend}/e2.png`,
        `square,${imagesUrl}/${backend}/missing.png`,
      ].join('\n'),
    );
    expect(await cli('import', 'eval', '--urls', list)).toBe(1);
    const all = await datasets();
    expect(all.find((d) => d.name === 'eval')).toEqual({
      name: 'eval',
      images: 2,
      classes: { circle: 1, square: 1 },
    });
    expect(all.find((d) => d.name === 'base')?.images).toBe(5);
    const page = (await (await t.api('/datasets/eval/images', { admin: true })).json()) as {
      images: { source: string; addedBy: string }[];
    };
    expect(page.images.map((i) => i.addedBy)).toEqual(['erin', 'erin']);
    expect(page.images[0].source).toMatch(/^url:http:\/\/127\.0\.0\.1:\d+\//);
  });

  it('snapshots a content-addressed version and exports it as train/validation/field-hard folders', async () => {
    for (const [seed, label] of [
      [1, 'circle'],
      [2, 'square'],
    ] as const) {
      const form = new FormData();
      form.set('label', label);
      form.set('image', new Blob([await testImage(seed)]), `${seed}.png`);
      expect((await t.api('/datasets/base/images', { method: 'POST', body: form, admin: true })).status).toBe(
        201,
      );
    }
    const evalForm = new FormData();
    evalForm.set('label', 'circle');
    evalForm.set('image', new Blob([await testImage(3)]), 'e.png');
    await t.api('/datasets/eval/images', { method: 'POST', body: evalForm, admin: true });

    // Labelled field samples: enough that both splits get some under the hash rule.
    const sampleIds: string[] = [];
    for (let seed = 100; seed < 112; seed++) sampleIds.push(await sampleFrom(t, cam, seed, 'square', 0.4));
    const bulk = await t.api('/labelling/bulk-confirm', {
      ...jsonBody({ protocol: 1, sampleIds }),
      admin: true,
    });
    expect(((await bulk.json()) as { confirmed: string[] }).confirmed).toHaveLength(12);
    const hashes = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => sha256Hex(await testImage(100 + i))),
    );
    const hard = hashes.filter(isFieldHard);

    const res = await t.api('/dataset-versions', { ...jsonBody({ protocol: 1 }), admin: true });
    expect(res.status).toBe(201);
    const version = DatasetVersionSchema.parse(await res.json());
    expect(version.id).toMatch(/^ds-[0-9a-f]{24}$/);
    expect(version.counts).toEqual({ train: 2 + 12 - hard.length, validation: 1, 'field-hard': hard.length });
    expect(version.classes).toEqual(['circle', 'square']);

    // Same content, same id: nothing new is stored.
    const again = await t.api('/dataset-versions', { ...jsonBody({ protocol: 1 }), admin: true });
    expect(again.status).toBe(200);
    expect(DatasetVersionSchema.parse(await again.json()).id).toBe(version.id);
    // A version up to a time before the samples were labelled holds only the base images.
    const before = await t.api('/dataset-versions', {
      ...jsonBody({ protocol: 1, until: new Date(Date.now() - 3_600_000).toISOString() }),
      admin: true,
    });
    expect(before.status).toBe(422);

    const out = join(work.path, `export-${backend}`);
    expect(await cli('export', version.id, '--out', out)).toBe(0);
    expect(readdirSync(out).sort()).toEqual(
      ['dataset-version.json', 'train', 'validation', ...(hard.length > 0 ? ['field-hard'] : [])].sort(),
    );
    expect(readdirSync(join(out, 'train')).sort()).toEqual(['circle', 'square']);
    expect(readdirSync(join(out, 'validation'))).toEqual(['circle']);
    const trainSquares = readdirSync(join(out, 'train', 'square'));
    expect(trainSquares).toHaveLength(1 + 12 - hard.length);
    for (const h of hard) expect(trainSquares).not.toContain(`${h}.png`);
    const file = trainSquares[0];
    expect(sha256Hex(readFileSync(join(out, 'train', 'square', file)))).toBe(file.replace('.png', ''));
  });
});
