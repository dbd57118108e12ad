/**
 * The retained-message index over aedes' real memory persistence: a subscription to an exact
 * topic gets exactly what aedes' own scan would give it (the latest retained message, none once
 * cleared), and wildcard filters still get theirs.
 */
import type { Readable } from 'node:stream';
// aedes' own persistence, installed with aedes (not a dependency of ours: the broker adapter only
// wraps the instance aedes creates).
import memory from 'aedes-persistence';
import { describe, expect, it } from 'vitest';
import { indexRetained, type RetainedPersistence } from '../../../control-plane/src/mqtt/retained-index.ts';

async function topicsOf(stream: Readable): Promise<string[]> {
  const out: string[] = [];
  for await (const packet of stream) out.push(`${packet.topic}=${packet.payload.toString()}`);
  return out.sort();
}

async function persistences() {
  // Its types declare the CommonJS default export in a way TypeScript does not see as callable.
  const create = memory as unknown as () => RetainedPersistence;
  const plain = create();
  const indexed = create();
  indexRetained(indexed);
  return { plain, indexed };
}

const retain = (topic: string, payload: string) => ({
  cmd: 'publish',
  qos: 1,
  retain: true,
  topic,
  payload: Buffer.from(payload),
});

describe('the retained-message index', () => {
  it('answers exact topics from the index and wildcards from the scan, as aedes alone would', async () => {
    const { plain, indexed } = await persistences();
    const writes = [
      retain('edgeloop/devices/cam-a/desired', 'v1'),
      retain('edgeloop/devices/cam-b/desired', 'v1'),
      retain('edgeloop/devices/cam-a/desired', 'v2'),
      retain('edgeloop/devices/cam-b/status', 'online'),
      retain('edgeloop/devices/cam-b/desired', ''),
    ];
    for (const p of writes) {
      await plain.storeRetained(p);
      await indexed.storeRetained(p);
    }
    const filters = [
      ['edgeloop/devices/cam-a/desired'],
      ['edgeloop/devices/cam-b/desired'],
      ['edgeloop/devices/cam-c/desired'],
      ['edgeloop/devices/+/desired'],
      ['edgeloop/#'],
      ['edgeloop/devices/cam-a/desired', 'edgeloop/devices/+/status'],
    ];
    for (const f of filters) {
      expect(await topicsOf(indexed.createRetainedStreamCombi(f))).toEqual(
        await topicsOf(plain.createRetainedStreamCombi(f)),
      );
    }
    expect(await topicsOf(indexed.createRetainedStreamCombi(['edgeloop/devices/cam-a/desired']))).toEqual([
      'edgeloop/devices/cam-a/desired=v2',
    ]);
    // Cleared with an empty payload: a later subscriber gets nothing.
    expect(await topicsOf(indexed.createRetainedStreamCombi(['edgeloop/devices/cam-b/desired']))).toEqual([]);
  });
});
