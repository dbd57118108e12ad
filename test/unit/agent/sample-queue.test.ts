import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROTOCOL_VERSION, type SampleMetadata, silentLogger } from '@edgeloop/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SampleQueue } from '../../../agent/src/samples/sample-queue.ts';

const logger = silentLogger();
let dir: string;

beforeEach(async () => {
  dir = join(await mkdtemp(join(tmpdir(), 'edgeloop-queue-')), 'queue');
});
afterEach(async () => {
  await rm(join(dir, '..'), { recursive: true, force: true });
});

function sample(key: string, confidence: number) {
  const metadata: SampleMetadata = {
    protocol: PROTOCOL_VERSION,
    idempotencyKey: key,
    modelVersion: 1,
    frameId: `frame-${key}`,
    capturedAt: new Date().toISOString(),
    reason: 'low-confidence',
    topK: [{ label: 'red', confidence }],
  };
  return { metadata, confidence, jpeg: Buffer.from(`jpeg of ${key}`) };
}

describe('SampleQueue', () => {
  it('keeps entries across a re-open, image bytes included', async () => {
    const q1 = await SampleQueue.open(dir, { maxQueued: 10, logger });
    await q1.add(sample('key-aaaa-1', 0.4));
    await q1.add(sample('key-bbbb-2', 0.2));

    const q2 = await SampleQueue.open(dir, { maxQueued: 10, logger });
    expect(q2.size()).toBe(2);
    const first = q2.checkout();
    expect(first?.key).toBe('key-bbbb-2');
    expect(first?.metadata.frameId).toBe('frame-key-bbbb-2');
    expect((await q2.readImage(first!)).toString()).toBe('jpeg of key-bbbb-2');
  });

  it('when full evicts the most confident, the oldest of equals, and counts evictions', async () => {
    const q = await SampleQueue.open(dir, { maxQueued: 3, logger });
    await q.add(sample('key-old-0007', 0.7));
    await new Promise((resolve) => setTimeout(resolve, 5)); // distinct enqueue times
    await q.add(sample('key-new-0007', 0.7));
    await q.add(sample('key-low-0001', 0.1));
    expect(await q.add(sample('key-low-0002', 0.2))).toEqual({ queued: true, dropped: 'key-old-0007' });
    expect(await q.add(sample('key-low-0003', 0.3))).toEqual({ queued: true, dropped: 'key-new-0007' });
    expect(await q.add(sample('key-high-099', 0.99))).toEqual({ queued: false, dropped: 'key-high-099' });
    expect(q.dropped()).toBe(3);
    expect(q.list().map((e) => e.key)).toEqual(['key-low-0001', 'key-low-0002', 'key-low-0003']);
    // Evicted entries are gone from disk too: a re-open finds exactly the three kept.
    const reopened = await SampleQueue.open(dir, { maxQueued: 3, logger });
    expect(reopened.list().map((e) => e.key)).toEqual(['key-low-0001', 'key-low-0002', 'key-low-0003']);
  });

  it('hands out the most uncertain first and keeps an entry until it is removed', async () => {
    const q = await SampleQueue.open(dir, { maxQueued: 10, logger });
    for (const [key, c] of [
      ['key-mid-0005', 0.5],
      ['key-low-0001', 0.1],
      ['key-high-009', 0.9],
    ] as const) {
      await q.add(sample(key, c));
    }
    expect(q.list().map((e) => e.key)).toEqual(['key-low-0001', 'key-mid-0005', 'key-high-009']);
    const a = q.checkout()!;
    const b = q.checkout()!;
    expect([a.key, b.key]).toEqual(['key-low-0001', 'key-mid-0005']);
    q.release(a.key);
    expect(q.checkout()?.key).toBe('key-low-0001');
    await q.remove(a.key);
    expect(q.size()).toBe(2);
    expect((await SampleQueue.open(dir, { maxQueued: 10, logger })).size()).toBe(2);
  });

  it('when full, drops the most confident sample — queued or arriving — and counts it', async () => {
    const q = await SampleQueue.open(dir, { maxQueued: 2, logger });
    await q.add(sample('key-c030-aa', 0.3));
    await q.add(sample('key-c050-bb', 0.5));

    const evicting = await q.add(sample('key-c010-cc', 0.1));
    expect(evicting).toEqual({ queued: true, dropped: 'key-c050-bb' });
    const refused = await q.add(sample('key-c090-dd', 0.9));
    expect(refused).toEqual({ queued: false, dropped: 'key-c090-dd' });

    expect(q.list().map((e) => e.key)).toEqual(['key-c010-cc', 'key-c030-aa']);
    expect(q.dropped()).toBe(2);
    const files = (await readdir(dir)).sort();
    expect(files).toEqual(['key-c010-cc.jpg', 'key-c010-cc.json', 'key-c030-aa.jpg', 'key-c030-aa.json']);
  });

  it('cleans up debris of a crash: temp files, images without metadata, unreadable metadata', async () => {
    const q1 = await SampleQueue.open(dir, { maxQueued: 10, logger });
    await q1.add(sample('key-good-0001', 0.2));
    await writeFile(join(dir, 'orphan-0001.jpg'), 'x');
    await writeFile(join(dir, '.key-good-0001.json.abcd.tmp'), '{');
    await writeFile(join(dir, 'broken-0001.json'), '{not json');
    await writeFile(join(dir, 'broken-0001.jpg'), 'x');

    const q2 = await SampleQueue.open(dir, { maxQueued: 10, logger });
    expect(q2.list().map((e) => e.key)).toEqual(['key-good-0001']);
    expect((await readdir(dir)).sort()).toEqual(['key-good-0001.jpg', 'key-good-0001.json']);
  });

  it('wakes a waiting consumer when an entry arrives', async () => {
    const q = await SampleQueue.open(dir, { maxQueued: 10, logger });
    const controller = new AbortController();
    const waiting = q.waitForEntry(controller.signal);
    await q.add(sample('key-wake-0001', 0.2));
    await expect(waiting).resolves.toBe(true);
    q.checkout();
    const aborted = q.waitForEntry(controller.signal);
    controller.abort();
    await expect(aborted).resolves.toBe(false);
  });
});
