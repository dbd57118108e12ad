/**
 * Dataset import by URL cannot be pointed inside the network (SSRF). With the default config,
 * loopback, link-local (the cloud metadata address), IPv6 loopback and IPv4-mapped addresses are
 * refused before any connection, also when a public-looking name resolves to them or a redirect
 * leads there; refused and unreachable targets read the same; bodies are cut while streaming.
 * Loopback servers stand in for internal services; `datasetImport.allowNetworks` is how a test
 * (or a site with an internal image server) lets one through.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DatasetImportResultSchema } from '@edgeloop/shared';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  jsonBody,
  startTestControlPlane,
  type TestControlPlane,
  type TestControlPlaneOverrides,
} from './helpers.ts';
import { testImage } from './sample-helpers.ts';

const UNREACHABLE = 'UPSTREAM_FAILED: could not fetch the URL';

let image: Uint8Array;
let hits: string[] = [];
let inside: Server;
let other: Server;
let port: number;
let otherPort: number;

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, host, () => resolve((server.address() as AddressInfo).port)),
  );
}

beforeAll(async () => {
  image = await testImage(5);
  inside = createServer((req, res) => {
    hits.push(`inside ${req.url}`);
    if (req.url === '/to-other') {
      res.writeHead(302, { location: `http://127.0.0.2:${otherPort}/secret` }).end();
    } else if (req.url === '/endless') {
      res.writeHead(200, { 'content-type': 'image/png' });
      const chunk = Buffer.alloc(64 * 1024, 1);
      const pump = () => {
        while (res.write(chunk)) {}
        res.once('drain', pump);
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    } else {
      res.writeHead(200, { 'content-type': 'image/png' }).end(image);
    }
  });
  other = createServer((req, res) => {
    hits.push(`other ${req.url}`);
    res.writeHead(200, { 'content-type': 'image/png' }).end(image);
  });
  port = await listen(inside, '127.0.0.1');
  otherPort = await listen(other, '127.0.0.2');
});
afterAll(async () => {
  inside.closeAllConnections();
  await new Promise((r) => inside.close(r));
  await new Promise((r) => other.close(r));
});

let t: TestControlPlane;
afterEach(async () => {
  await t.stop();
  hits = [];
});

async function importUrls(overrides: TestControlPlaneOverrides, urls: string[]) {
  t = await startTestControlPlane(overrides);
  const body = { protocol: 1, source: { kind: 'urls', items: urls.map((url) => ({ url, label: 'cat' })) } };
  const res = await t.api('/datasets/base/import', { ...jsonBody(body), admin: true });
  expect(res.status).toBe(200);
  return DatasetImportResultSchema.parse(await res.json());
}

describe('dataset import by URL (SSRF)', () => {
  it('refuses loopback, link-local, metadata and mapped addresses by default, without connecting', async () => {
    const urls = [
      `http://127.0.0.1:${port}/a.png`,
      `http://localhost:${port}/a.png`,
      `http://[::1]:${port}/a.png`,
      `http://[::ffff:127.0.0.1]:${port}/a.png`,
      `http://[::ffff:7f00:1]:${port}/a.png`,
      `http://2130706433:${port}/a.png`, // 127.0.0.1 as one number
      'http://169.254.169.254/latest/meta-data/',
      'http://[fd00::1]/a.png',
      'http://[fe80::1]/a.png',
      'http://10.0.0.1/a.png',
      'http://0.0.0.0/a.png',
    ];
    const result = await importUrls({}, urls);
    expect(result.added).toBe(0);
    expect(result.failed.map((f) => f.reason)).toEqual(urls.map(() => UNREACHABLE));
    expect(hits).toEqual([]);
  });

  it('says the same for a refused address and a closed port, so results cannot map the network', async () => {
    const closed = createServer();
    const closedPort = await listen(closed, '127.0.0.1');
    await new Promise((r) => closed.close(r));
    const result = await importUrls({ datasetImport: { allowNetworks: ['127.0.0.1/32'] } }, [
      `http://127.0.0.1:${closedPort}/a.png`,
      `http://127.0.0.2:${otherPort}/a.png`,
    ]);
    expect(result.failed.map((f) => f.reason)).toEqual([UNREACHABLE, UNREACHABLE]);
    expect(hits).toEqual([]);
  });

  it('checks every redirect: an allowed server cannot bounce the import to a refused one', async () => {
    const result = await importUrls({ datasetImport: { allowNetworks: ['127.0.0.1/32'] } }, [
      `http://127.0.0.1:${port}/a.png`,
      `http://127.0.0.1:${port}/to-other`,
    ]);
    expect(result.added).toBe(1);
    expect(result.failed).toEqual([{ source: `url:http://127.0.0.1:${port}/to-other`, reason: UNREACHABLE }]);
    expect(hits).toEqual(['inside /a.png', 'inside /to-other']);
  });

  it('cuts an endless body at the sample size limit while it streams', async () => {
    const result = await importUrls(
      { datasetImport: { allowNetworks: ['127.0.0.1/32'] }, limits: { sampleMaxBytes: 256 * 1024 } },
      [`http://127.0.0.1:${port}/endless`],
    );
    expect(result.failed).toEqual([
      {
        source: `url:http://127.0.0.1:${port}/endless`,
        reason: 'PAYLOAD_TOO_LARGE: image exceeds 262144 bytes',
      },
    ]);
  });
});
