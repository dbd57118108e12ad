/**
 * Tells open dashboards which topics changed. Writes reach the database from many places (MQTT
 * recorders, the rollout engine, the pipeline, HTTP routes), so rather than threading an event
 * bus through all of them one timer compares cheap per-topic fingerprints of the database while
 * anyone is listening, and says which topics moved. The pages then refetch what they show.
 */
import type { Logger } from '@edgeloop/shared';
import type { ChangeTopic, DashboardStore } from '../store/dashboard-store.ts';

export type ChangeListener = (topics: ChangeTopic[]) => void;

export interface ChangeFeed {
  /** Returns the unsubscribe function. */
  subscribe(listener: ChangeListener): () => void;
  /** Listeners to call when the feed closes (server shutdown ends open event streams). */
  onClose(listener: () => void): () => void;
  close(): void;
}

export function createChangeFeed(options: {
  store: DashboardStore;
  intervalMs: number;
  logger: Logger;
}): ChangeFeed {
  const listeners = new Set<ChangeListener>();
  const closers = new Set<() => void>();
  let last: Record<ChangeTopic, string> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  const tick = async () => {
    try {
      const now = await options.store.fingerprints();
      const changed = last
        ? (Object.keys(now) as ChangeTopic[]).filter((topic) => now[topic] !== last?.[topic])
        : [];
      last = now;
      if (changed.length > 0) for (const listener of listeners) listener(changed);
    } catch (err) {
      // The timer is a loop boundary: log and try again on the next tick.
      options.logger.error({ err }, 'reading change fingerprints failed');
    }
  };

  const stopIfIdle = () => {
    if (listeners.size === 0 && timer) {
      clearInterval(timer);
      timer = null;
      last = null;
    }
  };

  return {
    subscribe(listener) {
      // A stream opened while the server stops: nothing will change for it any more.
      if (closed) return () => {};
      listeners.add(listener);
      if (!timer) {
        tick();
        timer = setInterval(tick, options.intervalMs);
        timer.unref();
      }
      return () => {
        listeners.delete(listener);
        stopIfIdle();
      };
    },
    onClose(listener) {
      // A stream that subscribed after close() would wait for a close that already happened and
      // hold the HTTP server's stop open; it is told at once (after the caller's own setup).
      if (closed) {
        queueMicrotask(listener);
        return () => {};
      }
      closers.add(listener);
      return () => closers.delete(listener);
    },
    close() {
      closed = true;
      for (const closer of [...closers]) closer();
      closers.clear();
      listeners.clear();
      stopIfIdle();
    },
  };
}
