/**
 * Write-behind for what devices report. Messages are taken in per-device order (each one's quota
 * check and parsing run after the device's earlier ones), buffered, and written every `flushMs`
 * (or as soon as `maxBatch` wait) in ONE store transaction with multi-row statements, instead of
 * a few statements per message. Nothing is lost quietly:
 * - a failed write (database down or restarting) keeps the batch and is retried with backoff;
 * - if the database answers but refuses the batch, its messages are written one by one and only
 *   the ones it refuses are dropped (logged and counted), so one bad row cannot stall ingestion;
 * - memory is bounded without dropping: take() returns a promise that settles once there is room
 *   (messages being taken + buffered < `maxBuffered`), and the MQTT reader waits for it before it
 *   acknowledges and reads the next message, so the backlog waits in the broker;
 * - stop() writes what is buffered before the store closes.
 * Reported states are handed to the listener (the rollout engines follow them) after the
 * transaction holding them committed, batch by batch, in arrival order, through a queue of its
 * own that the writer never waits for: the listener publishes over MQTT and waits for PUBACKs,
 * which are not read while the reader waits for room, so a writer waiting on it could deadlock.
 */
import type { IngestConfig, Logger, ReportedState } from '@edgeloop/shared';
import type { DeviceReport, ReceivedDeviceEvent } from '../store/records.ts';
import type { Store } from '../store/store.ts';

export type IngestMessage = DeviceReport | ({ kind: 'event' } & ReceivedDeviceEvent);

export interface CommittedState {
  deviceId: string;
  state: ReportedState;
  receivedAt: string;
}

/** Each committed batch's states, in arrival order, after the commit; calls never overlap. */
export type ReportedStatesListener = (states: readonly CommittedState[]) => Promise<void> | void;

/** Why a message was not stored (label of edgeloop_ingest_dropped_total). */
export type IngestDropReason = 'unknown-device' | 'rejected' | 'stopped';

export interface IngestBatcher {
  /**
   * Takes a device's next message: `produce` runs once the device's earlier messages were taken,
   * and what it returns is buffered (null: nothing to store). It must not throw. The promise
   * settles once the batcher has room for another message; whoever feeds it waits for that
   * (backpressure), so it never holds more than `maxBuffered`.
   */
  take(deviceId: string, produce: () => Promise<IngestMessage | null>): Promise<void>;
  /** Messages waiting to be written. */
  buffered(): number;
  /** Writes everything taken so far (waits while the database is down) and lets the listener hear it. */
  flush(): Promise<void>;
  /**
   * Stops taking messages, writes what is buffered (retrying for up to `stopTimeoutMs`), then
   * waits for the listener to hear every committed state.
   */
  stop(): Promise<void>;
}

export interface IngestBatcherDeps {
  store: Store;
  config: IngestConfig;
  logger: Logger;
  onReportedStates?: ReportedStatesListener;
  onDropped?: (reason: IngestDropReason, count: number) => void;
  /** Backoff between retries of a failed write (ms). */
  retry?: { baseMs: number; maxMs: number };
  stopTimeoutMs?: number;
}

export function createIngestBatcher(deps: IngestBatcherDeps): IngestBatcher {
  const { store, config, logger: log } = deps;
  const retry = deps.retry ?? { baseMs: 250, maxMs: 5_000 };
  const stopTimeoutMs = deps.stopTimeoutMs ?? 10_000;
  /** In arrival order; written from the front, so per-device order holds. */
  const buffer: IngestMessage[] = [];
  const intake = new Map<string, Promise<void>>();
  /** Messages whose `produce` has not finished yet: they count against the bound too. */
  let taking = 0;
  /** Feeders waiting for room. */
  const roomWaiters: (() => void)[] = [];
  let timer: NodeJS.Timeout | null = null;
  let writer: Promise<void> | null = null;
  /** The tail of the listener's queue: each committed batch's states are heard after the last. */
  let heard: Promise<void> = Promise.resolve();
  let stopping = false;
  let stopDeadline = Number.POSITIVE_INFINITY;

  const dropped = (reason: IngestDropReason, count = 1) => deps.onDropped?.(reason, count);

  const hasRoom = () => stopping || taking + buffer.length < config.maxBuffered;

  /** Lets the feeders go on once there is room (they wait one message at a time). */
  function wakeFeeders(): void {
    if (roomWaiters.length === 0 || !hasRoom()) return;
    for (const wake of roomWaiters.splice(0)) wake();
  }

  function whenRoom(): Promise<void> {
    if (hasRoom()) return Promise.resolve();
    return new Promise((resolve) => roomWaiters.push(resolve));
  }

  function add(message: IngestMessage): void {
    buffer.push(message);
    if (buffer.length >= config.maxBatch) kick();
    else if (!timer && !writer) timer = setTimeout(kick, config.flushMs);
  }

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
    const states = kept.flatMap((m) =>
      m.kind === 'state' ? [{ deviceId: m.deviceId, state: m.state, receivedAt: m.receivedAt }] : [],
    );
    if (states.length > 0 && deps.onReportedStates) hear(deps.onReportedStates, states);
  }

  /** Queues committed states for the listener: in order, one call at a time, never awaited here. */
  function hear(listener: ReportedStatesListener, states: readonly CommittedState[]): void {
    heard = heard.then(async () => {
      try {
        await listener(states);
      } catch (err) {
        log.error({ states: states.length, err }, 'reported state listener failed');
      }
    });
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
        wakeFeeders();
        if (failures > 0) log.info({ failures }, 'device messages are written again');
        failures = 0;
      } catch (err) {
        if (await databaseAnswers(batch[0]!.deviceId)) {
          const handled = await commitSeparately(batch);
          buffer.splice(0, handled);
          wakeFeeders();
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
    // Taken after everything written so far was queued for the listener.
    await heard;
  }

  return {
    take(deviceId, produce) {
      if (stopping) {
        dropped('stopped');
        return Promise.resolve();
      }
      taking++;
      const next = (intake.get(deviceId) ?? Promise.resolve())
        .then(produce)
        .then(
          (message) => {
            if (message) add(message);
          },
          (err) => log.error({ deviceId, err }, 'failed to take a device message'),
        )
        .finally(() => {
          taking--;
          wakeFeeders();
        });
      intake.set(deviceId, next);
      void next.finally(() => {
        if (intake.get(deviceId) === next) intake.delete(deviceId);
      });
      return whenRoom();
    },
    buffered: () => buffer.length,
    flush,
    async stop() {
      // Messages being taken land in the buffer first, then everything is written.
      await Promise.all(intake.values());
      stopping = true;
      // Nothing more is taken: a feeder still waiting goes on (and its next message is dropped).
      wakeFeeders();
      stopDeadline = Date.now() + stopTimeoutMs;
      await flush();
    },
  };
}
