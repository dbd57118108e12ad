/**
 * Retention of device history: device events (older than retention.deviceEventsDays, and past
 * the newest retention.deviceEventsPerDevice of each device) and rollback manifests nobody asked
 * for in retention.rollbackManifestDays (asking renews one, manifest-signer.ts). Pruned once at
 * start and then every pruneIntervalMinutes, so a chatty or hostile device cannot grow the
 * database without end.
 */
import type { Logger, RetentionConfig } from '@edgeloop/shared';
import type { Store } from '../store/store.ts';

const DAY_MS = 86_400_000;

export interface Retention {
  /** Prunes now; returns what went. */
  prune(now?: Date): Promise<{ deviceEvents: number; rollbackManifests: number }>;
  /** Prunes now and then every pruneIntervalMinutes until stop(). */
  start(): void;
  stop(): void;
}

export function createRetention(deps: { store: Store; config: RetentionConfig; logger: Logger }): Retention {
  const { store, config, logger } = deps;
  let timer: NodeJS.Timeout | undefined;
  const prune = async (now = new Date()) => {
    const before = (days: number) => new Date(now.getTime() - days * DAY_MS).toISOString();
    const pruned = {
      deviceEvents: await store.events.prune(before(config.deviceEventsDays), config.deviceEventsPerDevice),
      rollbackManifests: await store.rollouts.pruneRollbackManifests(before(config.rollbackManifestDays)),
    };
    if (pruned.deviceEvents + pruned.rollbackManifests > 0) logger.info(pruned, 'pruned old rows');
    return pruned;
  };
  // The loop boundary: a failed prune is logged and tried again next time.
  const tick = () => {
    prune().catch((err: unknown) => logger.error({ err }, 'pruning old rows failed'));
  };
  return {
    prune,
    start() {
      tick();
      timer = setInterval(tick, config.pruneIntervalMinutes * 60_000);
      timer.unref();
    },
    stop: () => clearInterval(timer),
  };
}
