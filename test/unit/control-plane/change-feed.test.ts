/**
 * The dashboard's change feed at a server stop: every open event stream is told to end, and so is
 * one that subscribes after the stop began (it would otherwise wait for a close that already
 * happened and hold the HTTP server's stop open until its grace ran out).
 */

import { createLogger } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { createChangeFeed } from '../../../control-plane/src/dashboard/change-feed.ts';
import type { DashboardStore } from '../../../control-plane/src/store/dashboard-store.ts';

function feed() {
  let reads = 0;
  // The feed reads only fingerprints; each read returns a new one, so every tick is a change.
  const store = {
    fingerprints: async () => {
      reads++;
      return { fleet: String(reads) };
    },
  } as unknown as DashboardStore;
  const changes = createChangeFeed({ store, intervalMs: 5, logger: createLogger({ level: 'silent' }) });
  return { changes, reads: () => reads };
}

describe('change feed', () => {
  it('ends the streams open at close', async () => {
    const { changes } = feed();
    let ended = 0;
    changes.subscribe(() => {});
    changes.onClose(() => ended++);
    changes.close();
    expect(ended).toBe(1);
  });

  it('ends a stream that subscribes after close, and reads nothing more for it', async () => {
    const { changes, reads } = feed();
    changes.close();
    let ended = false;
    const seen: unknown[] = [];
    changes.subscribe((topics) => seen.push(topics));
    changes.onClose(() => {
      ended = true;
    });
    const before = reads();
    await new Promise((r) => setTimeout(r, 30));
    expect(ended).toBe(true);
    expect(reads()).toBe(before);
    expect(seen).toEqual([]);
  });

  it('tells listeners which topics changed while the feed is open', async () => {
    const { changes } = feed();
    const seen = await new Promise((resolve) => changes.subscribe(resolve));
    changes.close();
    expect(seen).toEqual(['fleet']);
  });
});
