/**
 * aedes' memory persistence finds the retained messages for a new subscription by testing every
 * retained topic against the filter, so each subscription costs time in proportion to the fleet
 * (every device has a retained desired state) and a fleet reconnecting costs the square of it: in
 * a 10,000-device run that scan was the control plane's largest CPU cost. Devices subscribe to
 * exact topics (no wildcards; broker.ts refuses others), so those are answered from an index by
 * topic here; a filter with a wildcard still goes through aedes' own scan.
 */
import { Readable } from 'node:stream';

interface RetainedPacket {
  topic: string;
  payload: Buffer;
}

/** The part of aedes' persistence this touches (it has no exported type for it). */
export interface RetainedPersistence {
  storeRetained(packet: RetainedPacket): Promise<void>;
  createRetainedStreamCombi(patterns: string[]): Readable;
}

const hasWildcard = (filter: string) => filter.includes('+') || filter.includes('#');

export function indexRetained(persistence: RetainedPersistence): void {
  const byTopic = new Map<string, RetainedPacket>();
  const store = persistence.storeRetained.bind(persistence);
  const scan = persistence.createRetainedStreamCombi.bind(persistence);

  persistence.storeRetained = async (packet) => {
    await store(packet);
    // An empty retained payload clears the topic (MQTT 3.1.1 §3.3.1.3). A copy, as aedes keeps.
    if (packet.payload.length === 0) byTopic.delete(packet.topic);
    else byTopic.set(packet.topic, { ...packet });
  };

  persistence.createRetainedStreamCombi = (patterns) => {
    const wild = patterns.filter(hasWildcard);
    if (wild.length === patterns.length) return scan(patterns);
    const exact: RetainedPacket[] = [];
    for (const topic of new Set(patterns)) {
      const packet = hasWildcard(topic) ? undefined : byTopic.get(topic);
      if (packet) exact.push(packet);
    }
    if (wild.length === 0) return Readable.from(exact);
    return Readable.from(
      (async function* () {
        yield* exact;
        yield* scan(wild);
      })(),
    );
  };
}
