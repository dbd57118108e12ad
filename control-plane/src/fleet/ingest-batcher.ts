/**
 * Write-behind for what devices report. Messages are taken in per-device order (each one's quota
 * check and parsing run after the device's earlier ones), buffered, and written every `flushMs`
 * (or as soon as `maxBatch` wait) in ONE store transaction with multi-row statements, instead of
 * a few statements per message. Nothing is lost quietly:
 * - a failed write (database down or restarting) keeps the batch and is retried with backoff;
 * - if the database answers but refuses the batch, its messages are written one by one and only
 *   the ones it refuses are dropped (logged and counted), so one bad row cannot stall ingestion;
 * - the buffer is bounded (`maxBuffered`): beyond it new messages are dropped, counted and
 *   logged once per interval, never held in ever more memory;
 * - stop() writes what is buffered before the store closes.
 * Reported states are handed to the listener (the rollout engine follows them) one by one, in
 * per-device order, after the transaction holding them committed.
 */
import type { IngestConfig, Logger, ReportedState } from '@edgeloop/shared';
import type { DeviceReport, ReceivedDeviceEvent } from '../store/records.ts';
import type { Store } from '../store/store.ts';

export type IngestMessage = DeviceReport | ({ kind: 'event' } & ReceivedDeviceEvent);

/** Called with every stored ReportedState, after it was committed. */
export type ReportedStateListener = (
  deviceId: string,
  state: ReportedState,
  receivedAt: string,
) => Promise<void> | void;

/** Why a message was not stored (label of edgeloop_ingest_dropped_total). */
export type IngestDropReason = 'buffer-full' | 'unknown-device' | 'rejected' | 'stopped';

export interface IngestBatcher {
  /**
   * Takes a device's next message: `produce` runs once the device's earlier messages were taken,
   * and what it returns is buffered (null: nothing to store). It must not throw.
   */
  take(deviceId: string, produce: () => Promise<IngestMessage | null>): void;
  /** Messages waiting to be written. */
  buffered(): number;
  /** Writes everything taken so far (waits while the database is down). */
  flush(): Promise<void>;
  /** Stops taking messages and writes what is buffered, retrying for up to `stopTimeoutMs`. */
  stop(): Promise<void>;
}

export interface IngestBatcherDeps {
  store: Store;
  config: IngestConfig;
  logger: Logger;
  onReportedState?: ReportedStateListener;
  onDropped?: (reason: IngestDropReason, count: number) => void;
  /** Backoff between retries of a failed write (ms). */
  retry?: { baseMs: number; maxMs: number };
  stopTimeoutMs?: number;
}

/** At most one "buffer full" warning per this long: the log must not become the flood. */
const DROP_LOG_INTERVAL_MS = 10_000;

export function createIngestBatcher(deps: IngestBatcherDeps): IngestBatcher {
  const { store, config, logger: log } = deps;
  const retry = deps.retry ?? { baseMs: 250, maxMs: 5_000 };
  const stopTimeoutMs = deps.stopTimeoutMs ?? 10_000;
  /** In arrival order; written from the front, so per-device order holds. */
  const buffer: IngestMessage[] = [];
  const intake = new Map<string, Promise<void>>();
  let timer: NodeJS.Timeout | null = null;
  let writer: Promise<void> | null = null;
  let stopping = false;
  let stopDeadline = Number.POSITIVE_INFINITY;
  let droppedFull = 0;
  let nextDropLog = 0;

  const dropped = (reason: IngestDropReason, count = 1) => deps.onDropped?.(reason, count);

  function add(message: IngestMessage): void {
    if (buffer.length >= config.maxBuffered) {
      dropped('buffer-full');
      droppedFull++;
      if (Date.now() >= nextDropLog) {
        nextDropLog = Date.now() + DROP_LOG_INTERVAL_MS;
        log.warn(
          { dropped: droppedFull, maxBuffered: config.maxBuffered },
          'ingest buffer full (database slow or down): dropping device messages',
        );
        droppedFull = 0;
      }
      return;
    }
    buffer.push(message);
    if (buffer.length >= config.maxBatch) kick();
    else if (!timer && !writer) timer = setTimeout(kick, config.flushMs);
  }

  /** Starts the writer unless it runs; it writes until the buffer is empty. */
  function kick(): void {
    if (timer) clearTimeout(timer);
    timer = null;
    if (writer) return;
    writer = drain().finally(() => {
      writer = null;
      // Taken while the writer was finishing: wait for the next tick.
      if (buffer.length > 0 && !stopping) timer = setTimeout(kick, config.flushMs);
    });
  }

  /** One transaction: unknown devices' messages left out, the rest written. */
  async function commit(batch: readonly IngestMessage[]): Promise<void> {
    const { kept, unknown } = await store.transaction(async (tx) => {
      const known = await tx.devices.existingIds(batch.map((m) => m.deviceId));
      const kept = batch.filter((m) => known.has(m.deviceId));
      await tx.devices.recordBatch(
        kept.filter((m): m is DeviceReport => m.kind !== 'event'),
        { recentPredictionsPerDevice: config.recentPredictionsPerDevice },
      );
      await tx.events.recordBatch(kept.filter((m) => m.kind === 'event'));
      return { kept, unknown: new Set(batch.filter((m) => !known.has(m.deviceId)).map((m) => m.deviceId)) };
    });
    if (unknown.size > 0) {
      dropped('unknown-device', batch.length - kept.length);
      log.warn({ deviceIds: [...unknown].slice(0, 20) }, 'dropped messages from unknown devices');
    }
    for (const m of kept) {
      if (m.kind !== 'state' || !deps.onReportedState) continue;
      try {
        await deps.onReportedState(m.deviceId, m.state, m.receivedAt);
      } catch (err) {
        log.error({ deviceId: m.deviceId, err }, 'reported state listener failed');
      }
    }
  }

  /** A plain read: whether the database is up (then a refused batch is the batch's fault). */
  async function databaseAnswers(deviceId: string): Promise<boolean> {
    try {
      await store.devices.existingIds([deviceId]);
      return true;
    } catch {
      return false;
    }
  }

  /** Writes a refused batch message by message; returns how many were handled (stored or dropped). */
  async function commitSeparately(batch: readonly IngestMessage[]): Promise<number> {
    for (let i = 0; i < batch.length; i++) {
      const m = batch[i]!;
      try {
        await commit([m]);
      } catch (err) {
        // Down again: the rest waits for the retry.
        if (!(await databaseAnswers(m.deviceId))) return i;
        dropped('rejected');
        log.error(
          { deviceId: m.deviceId, kind: m.kind, err },
          'dropped a device message the database refused',
        );
      }
    }
    return batch.length;
  }

  async function drain(): Promise<void> {
    let failures = 0;
    while (buffer.length > 0) {
      const batch = buffer.slice(0, config.maxBatch);
      try {
        await commit(batch);
        buffer.splice(0, batch.length);
        if (failures > 0) log.info({ failures }, 'device messages are written again');
        failures = 0;
      } catch (err) {
        if (await databaseAnswers(batch[0]!.deviceId)) {
          const handled = await commitSeparately(batch);
          buffer.splice(0, handled);
          if (handled === batch.length) continue;
        }
        failures++;
        const wait = Math.min(retry.maxMs, retry.baseMs * 2 ** Math.min(failures - 1, 20));
        log[failures === 1 ? 'error' : 'warn'](
          { err, failures, buffered: buffer.length, retryInMs: wait },
          'could not write device messages; keeping them and retrying',
        );
        if (Date.now() + wait > stopDeadline) {
          dropped('stopped', buffer.length);
          log.error({ lost: buffer.length }, 'stopping with device messages the database would not take');
          buffer.length = 0;
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  async function flush(): Promise<void> {
    kick();
    while (writer) await writer;
  }

  return {
    take(deviceId, produce) {
      if (stopping) {
        dropped('stopped');
        return;
      }
      const next = (intake.get(deviceId) ?? Promise.resolve()).then(produce).then(
        (message) => {
          if (message) add(message);
        },
        (err) => log.error({ deviceId, err }, 'failed to take a device message'),
      );
      intake.set(deviceId, next);
      void next.finally(() => {
        if (intake.get(deviceId) === next) intake.delete(deviceId);
      });
    },
    buffered: () => buffer.length,
    flush,
    async stop() {
      // Messages being taken land in the buffer first, then everything is written.
      await Promise.all(intake.values());
      stopping = true;
      stopDeadline = Date.now() + stopTimeoutMs;
      await flush();
    },
  };
}
