/**
 * The Fleet page's query in SQL: filter, sort and page the devices, count the filtered set by
 * version, status, run status and sync state, and list the groups and tags — a few statements
 * whose cost follows the page size and the number of distinct values, not one row per device
 * crossing into JavaScript. Also the fleet-wide sums the Prometheus gauges read.
 *
 * Text sort keys compare byte by byte (`COLLATE "C"` on Postgres, SQLite's default), so both
 * engines order alike whatever the Postgres database's locale; names and groups compare without
 * case first. A missing name, last-seen time or version sorts before every value; ties go by
 * device id, in the same direction.
 */
import type { FleetQuery } from '@edgeloop/shared';
import { hasAllTagsSql } from './device-tags.ts';
import type { DeviceRecord } from './records.ts';
import { DEVICE_SELECT, type DeviceRow, deviceFromRow } from './rows.ts';
import type { SqlDatabase } from './sql.ts';

export interface FleetCounts {
  byVersion: Record<string, number>;
  byStatus: Record<string, number>;
  byRunStatus: Record<string, number>;
  bySync: Record<string, number>;
  pinned: number;
}

export interface FleetResult {
  /** Every device, filtered or not. */
  total: number;
  matching: number;
  counts: FleetCounts;
  /** Every group and every tag in the fleet (for the filter menus), sorted. */
  groups: string[];
  tags: string[];
  /** The requested page of the matching devices, in order. */
  devices: DeviceRecord[];
}

/** One label per device and gauge label pair: offline, or the run status it reports; its version. */
export interface DeviceCount {
  status: string;
  version: string;
  devices: number;
}

/**
 * `isConverging` (devices/device-summary.ts) as SQL on the device aliased `d`: 'none' without a
 * desired version, 'converging' while the reported one differs, else 'in-sync'. The store
 * contract test checks the two agree on every case.
 */
export const SYNC_STATE_SQL = `CASE WHEN d.desired_version IS NULL THEN 'none'
  WHEN d.reported_version IS NULL OR d.reported_version <> d.desired_version THEN 'converging'
  ELSE 'in-sync' END`;

/** The API's key for a reported version: the number as text, or 'none'. */
const versionKey = (v: number | null) => (v === null ? 'none' : String(v));

/** A literal for LIKE: `%`, `_` and the escape character itself match only themselves. */
export function likeContains(text: string): string {
  return `%${text.replace(/[\\%_]/g, '\\$&')}%`;
}

interface Where {
  sql: string;
  params: unknown[];
}

function whereOf(query: FleetQuery): Where {
  const conditions: string[] = [];
  const params: unknown[] = [];
  if (query.status !== 'all') {
    conditions.push('d.online = ?');
    params.push(query.status === 'online' ? 1 : 0);
  }
  if (query.group !== '') {
    conditions.push('d.grp = ?');
    params.push(query.group);
  }
  const tags = [...new Set(query.tags)];
  if (tags.length > 0) {
    conditions.push(hasAllTagsSql(tags.length));
    params.push(...tags);
  }
  if (query.version === 'none') {
    conditions.push('d.reported_version IS NULL');
  } else if (query.version !== '') {
    // Only a version's canonical spelling matches it ('01' is no version's key).
    const version = Number(query.version);
    if (Number.isSafeInteger(version) && String(version) === query.version) {
      conditions.push('d.reported_version = ?');
      params.push(version);
    } else {
      conditions.push('1 = 0');
    }
  }
  if (query.q !== '') {
    const like = "LIKE ? ESCAPE '\\'";
    conditions.push(
      `(LOWER(d.id) ${like} OR LOWER(COALESCE(d.name, '')) ${like} OR LOWER(d.grp) ${like}
        OR d.id IN (SELECT t.device_id FROM device_tags t WHERE LOWER(t.tag) ${like}))`,
    );
    params.push(...Array.from({ length: 4 }, () => likeContains(query.q)));
  }
  return { sql: conditions.length === 0 ? '1 = 1' : conditions.join(' AND '), params };
}

function orderOf(db: SqlDatabase, query: FleetQuery): string {
  const bytes = db.dialect === 'postgres' ? ' COLLATE "C"' : '';
  const dir = query.dir === 'desc' ? 'DESC' : 'ASC';
  // Absent values sort as the smallest: first ascending, last descending (both engines agree).
  const nulls = query.dir === 'desc' ? 'NULLS LAST' : 'NULLS FIRST';
  const keys: Record<FleetQuery['sort'], string[]> = {
    deviceId: [],
    name: [`LOWER(d.name)${bytes} ${dir} ${nulls}`, `d.name${bytes} ${dir} ${nulls}`],
    group: [`LOWER(d.grp)${bytes} ${dir}`, `d.grp${bytes} ${dir}`],
    lastSeenAt: [`d.last_seen_at${bytes} ${dir} ${nulls}`],
    version: [`d.reported_version ${dir} ${nulls}`],
    online: [`d.online ${dir}`],
  };
  return [...keys[query.sort], `d.id${bytes} ${dir}`].join(', ');
}

interface CountRow {
  reported_version: number | null;
  online: number;
  status: string | null;
  sync: string;
  n: number;
  pinned: number;
}

function countsOf(rows: readonly CountRow[]): FleetCounts {
  const counts: FleetCounts = { byVersion: {}, byStatus: {}, byRunStatus: {}, bySync: {}, pinned: 0 };
  const add = (into: Record<string, number>, key: string, n: number) => {
    into[key] = (into[key] ?? 0) + n;
  };
  for (const r of rows) {
    add(counts.byVersion, versionKey(r.reported_version), r.n);
    add(counts.byStatus, r.online === 1 ? 'online' : 'offline', r.n);
    add(counts.byRunStatus, r.status ?? 'unknown', r.n);
    add(counts.bySync, r.sync, r.n);
    counts.pinned += r.pinned;
  }
  // Keys in one order whatever the engine's row order (the page shows them as listed).
  const sorted = (into: Record<string, number>) =>
    Object.fromEntries(Object.entries(into).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return {
    byVersion: sorted(counts.byVersion),
    byStatus: sorted(counts.byStatus),
    byRunStatus: sorted(counts.byRunStatus),
    bySync: sorted(counts.bySync),
    pinned: counts.pinned,
  };
}

export async function fleetQuery(db: SqlDatabase, query: FleetQuery): Promise<FleetResult> {
  const where = whereOf(query);
  const [pageIds, countRows, total, groups, tags] = await Promise.all([
    // Ids only: the sort carries narrow rows, and only the page's devices are read whole.
    db
      .prepare(
        `SELECT d.id FROM devices d WHERE ${where.sql} ORDER BY ${orderOf(db, query)} LIMIT ? OFFSET ?`,
      )
      .all(...where.params, query.pageSize, query.page * query.pageSize) as Promise<{ id: string }[]>,
    db
      .prepare(
        `SELECT d.reported_version, d.online, d.status, ${SYNC_STATE_SQL} AS sync, COUNT(*) AS n,
           SUM(CASE WHEN d.pinned_version IS NULL THEN 0 ELSE 1 END) AS pinned
         FROM devices d WHERE ${where.sql}
         GROUP BY d.reported_version, d.online, d.status, ${SYNC_STATE_SQL}`,
      )
      .all(...where.params) as Promise<CountRow[]>,
    db.prepare('SELECT COUNT(*) AS n FROM devices').get() as Promise<{ n: number }>,
    db.prepare('SELECT DISTINCT grp FROM devices').all() as Promise<{ grp: string }[]>,
    db.prepare('SELECT DISTINCT tag FROM device_tags').all() as Promise<{ tag: string }[]>,
  ]);
  const ids = pageIds.map((r) => r.id);
  const rows =
    ids.length === 0
      ? []
      : ((await db
          .prepare(`${DEVICE_SELECT} WHERE d.id IN (${ids.map(() => '?').join(',')})`)
          .all(...ids)) as DeviceRow[]);
  const byId = new Map(rows.map((r) => [r.id, deviceFromRow(r)]));
  return {
    total: total.n,
    matching: countRows.reduce((sum, r) => sum + r.n, 0),
    counts: countsOf(countRows),
    // A JavaScript sort (UTF-16 code units), as the lists always were.
    groups: groups.map((r) => r.grp).sort(),
    tags: tags.map((r) => r.tag).sort(),
    // A device deleted between the two reads is left out rather than shown half.
    devices: ids.flatMap((id) => byId.get(id) ?? []),
  };
}

/** Devices by gauge label: offline, or the run status they report ('unknown' if none); version. */
export async function deviceCounts(db: SqlDatabase): Promise<DeviceCount[]> {
  const status = "CASE WHEN online = 1 THEN COALESCE(status, 'unknown') ELSE 'offline' END";
  const rows = (await db
    .prepare(
      `SELECT ${status} AS status, reported_version, COUNT(*) AS n FROM devices
       GROUP BY ${status}, reported_version`,
    )
    .all()) as { status: string; reported_version: number | null; n: number }[];
  return rows.map((r) => ({ status: r.status, version: versionKey(r.reported_version), devices: r.n }));
}

/**
 * Samples waiting in online devices' upload queues: the heartbeat's queueDepth when the device
 * sent one, else the state's samplesQueued. Each engine reads the JSON with its own function.
 */
export async function sampleQueueItems(db: SqlDatabase): Promise<number> {
  const depth =
    db.dialect === 'postgres'
      ? "CAST(CAST(health AS json)->>'queueDepth' AS BIGINT)"
      : "json_extract(health, '$.queueDepth')";
  const row = (await db
    .prepare(`SELECT COALESCE(SUM(COALESCE(${depth}, samples_queued)), 0) AS n FROM devices WHERE online = 1`)
    .get()) as { n: number };
  return row.n;
}

/** Predictions recorded from enrolled devices since they enrolled. */
export async function predictionsStored(db: SqlDatabase): Promise<number> {
  const row = (await db
    .prepare(
      'SELECT COALESCE(SUM(p.total), 0) AS n FROM prediction_stats p JOIN devices d ON d.id = p.device_id',
    )
    .get()) as { n: number };
  return row.n;
}
