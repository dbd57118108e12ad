/**
 * Fleet targets (the version a group, tag set or the whole fleet should run) and device pins, by
 * role, and their SQL. One row per selector: setting a selector's target again replaces it and
 * remembers the version it replaced, so a rollback of the rollout that set it can restore it.
 */
import type { DevicePin, FleetSelector, FleetTarget } from '@edgeloop/shared';
import { normaliseTags } from './device-tags.ts';
import type { SqlDatabase } from './sql.ts';

export type FleetTargetRecord = FleetTarget;

/** One key per selector; tag sets are compared sorted, so [b,a] and [a,b] are the same target. */
export function selectorKey(selector: FleetSelector): string {
  if ('group' in selector) return `group:${selector.group}`;
  if ('tags' in selector) return `tags:${normaliseTags(selector.tags).join(',')}`;
  return 'all';
}

export interface FleetTargetStore {
  list(): Promise<FleetTargetRecord[]>;
  get(selector: FleetSelector): Promise<FleetTargetRecord | null>;
  /** Sets a selector's version; the one it replaces becomes `previousVersion`. */
  set(
    selector: FleetSelector,
    modelVersion: number,
    rolloutId: string | null,
    at: string,
  ): Promise<FleetTargetRecord>;
  /** Puts back a stored record as it was (a rollback), or removes the selector's target (null). */
  restore(selector: FleetSelector, record: FleetTargetRecord | null): Promise<void>;
  /** Sets or clears a device's pin; false when the device does not exist. */
  setPin(deviceId: string, pin: DevicePin | null): Promise<boolean>;
}

interface TargetRow {
  selector: string;
  model_version: number;
  previous_version: number | null;
  rollout_id: string | null;
  set_at: string;
}

function targetFromRow(row: TargetRow): FleetTargetRecord {
  return {
    selector: JSON.parse(row.selector) as FleetSelector,
    modelVersion: row.model_version,
    previousVersion: row.previous_version,
    rolloutId: row.rollout_id,
    setAt: row.set_at,
  };
}

export function createSqlFleetTargetStore(db: SqlDatabase): FleetTargetStore {
  const store: FleetTargetStore = {
    async list() {
      const rows = (await db
        .prepare('SELECT * FROM fleet_targets ORDER BY set_at, selector_key')
        .all()) as TargetRow[];
      return rows.map(targetFromRow);
    },
    async get(selector) {
      const row = (await db
        .prepare('SELECT * FROM fleet_targets WHERE selector_key = ?')
        .get(selectorKey(selector))) as TargetRow | undefined;
      return row ? targetFromRow(row) : null;
    },
    async set(selector, modelVersion, rolloutId, at) {
      const stored = 'tags' in selector ? { tags: normaliseTags(selector.tags) } : selector;
      return db.transaction(async (tx) => {
        const targets = createSqlFleetTargetStore(tx);
        const before = await targets.get(stored);
        const record: FleetTargetRecord = {
          selector: stored,
          modelVersion,
          // Re-setting the same version keeps what it replaced, so a rollback still goes back.
          previousVersion:
            before === null
              ? null
              : before.modelVersion === modelVersion
                ? before.previousVersion
                : before.modelVersion,
          rolloutId,
          setAt: at,
        };
        await targets.restore(stored, record);
        return record;
      });
    },
    async restore(selector, record) {
      const key = selectorKey(selector);
      if (record === null) {
        await db.prepare('DELETE FROM fleet_targets WHERE selector_key = ?').run(key);
        return;
      }
      await db
        .prepare(
          `INSERT INTO fleet_targets (selector_key, selector, model_version, previous_version, rollout_id, set_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (selector_key) DO UPDATE SET selector = excluded.selector,
           model_version = excluded.model_version, previous_version = excluded.previous_version,
           rollout_id = excluded.rollout_id, set_at = excluded.set_at`,
        )
        .run(
          key,
          JSON.stringify(record.selector),
          record.modelVersion,
          record.previousVersion,
          record.rolloutId,
          record.setAt,
        );
    },
    async setPin(deviceId, pin) {
      const result = await db
        .prepare(
          // edited_at: open dashboards notice a pin even when the desired version stays the same.
          `UPDATE devices SET pinned_version = ?, pinned_reason = ?, pinned_by = ?, pinned_at = ?, edited_at = ?
           WHERE id = ?`,
        )
        .run(
          pin?.modelVersion ?? null,
          pin?.reason ?? null,
          pin?.pinnedBy ?? null,
          pin?.pinnedAt ?? null,
          new Date().toISOString(),
          deviceId,
        );
      return result.changes > 0;
    },
  };
  return store;
}
