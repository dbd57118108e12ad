import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ManifestFile, sha256Hex, silentLogger } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlaneClient } from '../../../agent/src/comms/control-plane-client.ts';
import { downloadFile } from '../../../agent/src/model/model-downloader.ts';

const logger = silentLogger();
const content = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));
const ranges: (string | undefined)[] = [];
let serve: Buffer = content;
/** Sends this many bytes, then nothing more on a connection that stays open (a dead link). */
let stallAfter: number | null = null;
let server: Server;
let client: ControlPlaneClient;
let dir: string;

const file = (overrides: Partial<ManifestFile> = {}): ManifestFile => ({
  name: 'model.onnx',
  role: 'model',
  sha256: sha256Hex(content),
  bytes: content.length,
  ...overrides,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloop-download-'));
  server = createServer((req, res) => {
    ranges.push(req.headers.range);
    const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
    res.writeHead(start > 0 ? 206 : 200);
    if (stallAfter !== null) res.write(serve.subarray(start, stallAfter));
    else res.end(serve.subarray(start));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  client = new ControlPlaneClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, {
    deviceId: 'cam-1',
    secret: 's',
  });
});
afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('downloadFile', () => {
  it('resumes a partial download with a Range request and verifies the whole file', async () => {
    serve = content;
    await writeFile(join(dir, 'model.onnx'), content.subarray(0, 4_000));
    ranges.length = 0;
    await downloadFile(client, 1, file(), dir, { logger });
    expect(ranges).toEqual(['bytes=4000-']);
    expect((await readFile(join(dir, 'model.onnx'))).equals(content)).toBe(true);
  });

  it('skips the request when the file is already complete', async () => {
    ranges.length = 0;
    await downloadFile(client, 1, file(), dir, { logger });
    expect(ranges).toEqual([]);
  });

  it('stops at the declared length and deletes what it wrote', async () => {
    serve = Buffer.concat([content, Buffer.alloc(5_000)]);
    await rm(join(dir, 'model.onnx'), { force: true });
    await expect(downloadFile(client, 1, file(), dir, { logger })).rejects.toMatchObject({
      code: 'CHECKSUM_MISMATCH',
    });
    await expect(stat(join(dir, 'model.onnx'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses bytes whose sha256 differs from the signed manifest', async () => {
    serve = Buffer.from(content).fill(7, 100, 200);
    await expect(downloadFile(client, 1, file(), dir, { logger })).rejects.toMatchObject({
      code: 'CHECKSUM_MISMATCH',
      message: expect.stringMatching(/sha256/),
    });
    await expect(stat(join(dir, 'model.onnx'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('gives up a download that receives nothing for the stall timeout, keeping what arrived', async () => {
    serve = content;
    stallAfter = 3_000;
    await rm(join(dir, 'model.onnx'), { force: true });
    const started = Date.now();
    await expect(downloadFile(client, 1, file(), dir, { logger, stallTimeoutMs: 300 })).rejects.toMatchObject(
      {
        code: 'UPSTREAM_FAILED',
      },
    );
    // Well before TCP keep-alive (a minute) would have noticed; the next attempt resumes from here.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await stat(join(dir, 'model.onnx'))).size).toBe(3_000);
    stallAfter = null;
    ranges.length = 0;
    await downloadFile(client, 1, file(), dir, { logger });
    expect(ranges).toEqual(['bytes=3000-']);
    expect((await readFile(join(dir, 'model.onnx'))).equals(content)).toBe(true);
  });
});
