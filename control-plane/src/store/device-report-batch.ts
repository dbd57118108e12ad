/**
 * Writes a batch of device reports (state, status, predictions) with a few multi-row statements in
 * the caller's transaction: the ingest batcher's write path, in portable SQL. Per device the last
 * state and status win; predictions add to the device's aggregate (prediction_stats), replace the
 * last one per camera (camera_predictions) and enter its recent window (recent_predictions), which
 * is then trimmed per device to its newest `recentPerDevice` rows.
 */
import { DEFAULT_CAMERA_ID, type Prediction, type ReportedState } from '@edgeloop/shared';
import type { DeviceReport } from './records.ts';
import type { SqlDatabase } from './sql.ts';

/** Rows per multi-row statement: far under SQLite's (32,766) and Postgres's (65,535) parameter limits. */
const ROWS_PER_STATEMENT = 400;

export function chunked<T>(items: readonly T[], size = ROWS_PER_STATEMENT): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** `(?, ?), (?, ?)` for a multi-row VALUES list. */
export function valueRows(rows: number, columns: number): string {
  const row = `(${new Array(columns).fill('?').join(', ')})`;
  return new Array(rows).fill(row).join(', ');
}

/** `?, ?, ?` for an IN list of `n` values. */
export const marks = (n: number) => new Array(n).fill('?').join(', ');

/**
 * The devices columns a reported state sets. Each value is CAST: inside `CASE id WHEN ? THEN ?`
 * Postgres cannot infer a parameter's type from the column, and would take it as text.
 */
const STATE_COLUMNS: {
  column: string;
  type: 'INTEGER' | 'TEXT';
  value: (s: ReportedState) => string | number | null;
}[] = [
  { column: 'reported_version', type: 'INTEGER', value: (s) => s.modelVersion },
  { column: 'status', type: 'TEXT', value: (s) => s.status },
  { column: 'detail', type: 'TEXT', value: (s) => s.detail ?? null },
  { column: 'agent_version', type: 'TEXT', value: (s) => s.agentVersion },
  { column: 'frames_processed', type: 'INTEGER', value: (s) => s.framesProcessed },
  { column: 'samples_queued', type: 'INTEGER', value: (s) => s.samplesQueued },
  { column: 'health', type: 'TEXT', value: (s) => (s.health ? JSON.stringify(s.health) : null) },
];

interface Received<T> {
  deviceId: string;
  value: T;
  receivedAt: string;
}

/** What one batch changes, per device (and camera), in arrival order. */
function coalesce(reports: readonly DeviceReport[], recentPerDevice: number) {
  const lastSeen = new Map<string, string>();
  const states = new Map<string, Received<ReportedState>>();
  const online = new Map<string, boolean>();
  const stats = new Map<string, { total: number; last: Prediction; receivedAt: string }>();
  const cameras = new Map<string, Received<Prediction> & { cameraId: string }>();
  const recent = new Map<string, Received<Prediction>[]>();
  for (const r of reports) {
    const seen = lastSeen.get(r.deviceId);
    if (seen === undefined || r.receivedAt >= seen) lastSeen.set(r.deviceId, r.receivedAt);
    if (r.kind === 'state')
      states.set(r.deviceId, { deviceId: r.deviceId, value: r.state, receivedAt: r.receivedAt });
    else if (r.kind === 'status') online.set(r.deviceId, r.status.online);
    else {
      const p = r.prediction;
      const stat = stats.get(r.deviceId);
      stats.set(r.deviceId, { total: (stat?.total ?? 0) + 1, last: p, receivedAt: r.receivedAt });
      const cameraId = p.cameraId ?? DEFAULT_CAMERA_ID;
      const received = { deviceId: r.deviceId, value: p, receivedAt: r.receivedAt };
      cameras.set(`${r.deviceId}\u0000${cameraId}`, { ...received, cameraId });
      const window = recent.get(r.deviceId) ?? [];
      window.push(received);
      // Older ones than the window would be trimmed in the same transaction: never inserted.
      if (window.length > recentPerDevice) window.shift();
      recent.set(r.deviceId, window);
    }
  }
  return { lastSeen, states, online, stats, cameras, recent };
}

/**
 * Rows are written in device id order, so two replicas writing the same devices at once take
 * their row locks in the same order (no deadlock on Postgres).
 */
const byDevice = <T extends { deviceId: string }>(rows: Iterable<T>) =>
  [...rows].sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));

export async function writeDeviceReports(
  tx: SqlDatabase,
  reports: readonly DeviceReport[],
  recentPerDevice: number,
): Promise<void> {
  if (reports.length === 0) return;
  const batch = coalesce(reports, recentPerDevice);

  // First, as it touches every device of the batch: their row locks are all taken here, in one
  // statement over sorted ids, and the updates below take no new ones (fewer deadlocks between
  // replicas; the batcher writes a batch that still hits one message by message).
  const seen = [...batch.lastSeen].map(([deviceId, at]) => ({ deviceId, at }));
  for (const chunk of chunked(byDevice(seen))) {
    await tx
      .prepare(
        `UPDATE devices SET last_seen_at = CASE id ${chunk.map(() => 'WHEN ? THEN ?').join(' ')} END
         WHERE id IN (${marks(chunk.length)})`,
      )
      .run(...chunk.flatMap((r) => [r.deviceId, r.at]), ...chunk.map((r) => r.deviceId));
  }

  // Reported state: each device's last of the batch, all in one statement per chunk (a statement
  // per state was the batch's largest statement count in a fleet rollout).
  for (const chunk of chunked(byDevice(batch.states.values()))) {
    const sets = STATE_COLUMNS.map(
      ({ column, type }) =>
        `${column} = CASE id ${chunk.map(() => `WHEN ? THEN CAST(? AS ${type})`).join(' ')} END`,
    );
    await tx
      .prepare(`UPDATE devices SET ${sets.join(', ')} WHERE id IN (${marks(chunk.length)})`)
      .run(
        ...STATE_COLUMNS.flatMap(({ value }) => chunk.flatMap((r) => [r.deviceId, value(r.value)])),
        ...chunk.map((r) => r.deviceId),
      );
  }
  for (const flag of [true, false]) {
    const ids = [...batch.online].filter(([, on]) => on === flag).map(([id]) => id);
    for (const chunk of chunked(ids.sort())) {
      await tx
        .prepare(`UPDATE devices SET online = ? WHERE id IN (${marks(chunk.length)})`)
        .run(flag ? 1 : 0, ...chunk);
    }
  }
  const totals = await countPredictions(tx, batch.stats);
  for (const chunk of chunked(byDevice(batch.cameras.values()))) {
    await tx
      .prepare(
        `INSERT INTO camera_predictions (device_id, camera_id, prediction, received_at)
         VALUES ${valueRows(chunk.length, 4)}
         ON CONFLICT (device_id, camera_id) DO UPDATE SET
           prediction = excluded.prediction, received_at = excluded.received_at`,
      )
      .run(...chunk.flatMap((c) => [c.deviceId, c.cameraId, JSON.stringify(c.value), c.receivedAt]));
  }
  await insertRecent(tx, batch.recent, totals);
  await trimRecent(tx, totals, recentPerDevice);
}

/** Adds the batch's predictions to each device's aggregate; returns each device's new total. */
async function countPredictions(
  tx: SqlDatabase,
  stats: Map<string, { total: number; last: Prediction; receivedAt: string }>,
): Promise<Map<string, number>> {
  const totals = new Map<string, number>();
  const rows = [...stats].map(([deviceId, s]) => ({ deviceId, ...s }));
  for (const chunk of chunked(byDevice(rows))) {
    const counted = (await tx
      .prepare(
        `INSERT INTO prediction_stats (device_id, total, last_prediction, last_received_at)
         VALUES ${valueRows(chunk.length, 4)}
         ON CONFLICT (device_id) DO UPDATE SET total = prediction_stats.total + excluded.total,
           last_prediction = excluded.last_prediction, last_received_at = excluded.last_received_at
         RETURNING device_id, total`,
      )
      .all(...chunk.flatMap((s) => [s.deviceId, s.total, JSON.stringify(s.last), s.receivedAt]))) as {
      device_id: string;
      total: number | string;
    }[];
    for (const row of counted) totals.set(row.device_id, Number(row.total));
  }
  return totals;
}

/** Inserts each device's newest predictions, numbered in its sequence (its total counts the last). */
async function insertRecent(
  tx: SqlDatabase,
  recent: Map<string, Received<Prediction>[]>,
  totals: Map<string, number>,
): Promise<void> {
  const rows = [...recent].flatMap(([deviceId, window]) => {
    const total = totals.get(deviceId)!;
    return window.map((received, i) => ({ ...received, seq: total - (window.length - 1 - i) }));
  });
  for (const chunk of chunked(rows)) {
    await tx
      .prepare(
        `INSERT INTO recent_predictions
           (device_id, seq, model_version, frame_id, top_label, confidence, latency_ms, captured_at, received_at)
         VALUES ${valueRows(chunk.length, 9)}`,
      )
      .run(
        ...chunk.flatMap(({ deviceId, seq, value: p, receivedAt }) => {
          const top = p.topK.reduce((a, b) => (b.confidence > a.confidence ? b : a));
          return [
            deviceId,
            seq,
            p.modelVersion,
            p.frameId,
            top.label,
            top.confidence,
            p.latencyMs,
            p.capturedAt,
            receivedAt,
          ];
        }),
      );
  }
}

/**
 * Keeps each device's newest `keep` rows: those numbered above its total minus `keep`, one index
 * range per device. (Ids grow across all devices, so the old "id <= newest id - keep" kept far
 * fewer than `keep` per device in a busy fleet.)
 */
async function trimRecent(tx: SqlDatabase, totals: Map<string, number>, keep: number): Promise<void> {
  const over = [...totals]
    .filter(([, total]) => total > keep)
    .map(([deviceId, total]) => ({ deviceId, below: total - keep }));
  for (const chunk of chunked(byDevice(over), 200)) {
    await tx
      .prepare(
        `DELETE FROM recent_predictions WHERE ${chunk.map(() => '(device_id = ? AND seq <= ?)').join(' OR ')}`,
      )
      .run(...chunk.flatMap((d) => [d.deviceId, d.below]));
  }
}
