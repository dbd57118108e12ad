/** Device events (errors, installs, refusals) as received, with their retention. */
import type { DeviceEvent } from '@edgeloop/shared';
import { chunked, valueRows } from './device-report-batch.ts';
import type { DeviceEventRecord, ReceivedDeviceEvent } from './records.ts';
import { type DeviceEventRow, deviceEventFromRow } from './rows.ts';
import type { SqlDatabase } from './sql.ts';

export interface EventStore {
  record(deviceId: string, event: DeviceEvent, receivedAt: string): Promise<void>;
  /** Inserts many events, in the order given, with multi-row statements (the devices must exist). */
  recordBatch(events: readonly ReceivedDeviceEvent[]): Promise<void>;
  /** The device's newest events first. */
  list(deviceId: string, limit?: number): Promise<DeviceEventRecord[]>;
  /**
   * Events of these types from these devices, newest first, at most `limitPerDevice` each
   * (a few statements for a whole wave of devices).
   */
  listOfTypes(
    deviceIds: readonly string[],
    types: readonly string[],
    limitPerDevice: number,
  ): Promise<DeviceEventRecord[]>;
  /**
   * Deletes device events received before `before` (ISO time) and, per device, all but the
   * newest `keepPerDevice`; returns how many went.
   */
  prune(before: string, keepPerDevice: number): Promise<number>;
}

export function createSqlEventStore(db: SqlDatabase): EventStore {
  const events: EventStore = {
    record(deviceId, event, receivedAt) {
      return events.recordBatch([{ deviceId, event, receivedAt }]);
    },

    async recordBatch(received) {
      for (const chunk of chunked(received)) {
        await db
          .prepare(
            `INSERT INTO device_events (device_id, type, message, model_version, camera_id, at, received_at)
             VALUES ${valueRows(chunk.length, 7)}`,
          )
          .run(
            ...chunk.flatMap(({ deviceId, event, receivedAt }) => [
              deviceId,
              event.type,
              event.message,
              event.modelVersion ?? null,
              event.cameraId ?? null,
              event.at,
              receivedAt,
            ]),
          );
      }
    },

    async list(deviceId, limit = 100) {
      const rows = (await db
        .prepare('SELECT * FROM device_events WHERE device_id = ? ORDER BY id DESC LIMIT ?')
        .all(deviceId, limit)) as DeviceEventRow[];
      return rows.map(deviceEventFromRow);
    },

    async listOfTypes(deviceIds, types, limitPerDevice) {
      if (types.length === 0) return [];
      const out: DeviceEventRecord[] = [];
      for (const chunk of chunked([...new Set(deviceIds)])) {
        const rows = (await db
          .prepare(
            `SELECT * FROM (
               SELECT e.*, ROW_NUMBER() OVER (PARTITION BY device_id ORDER BY id DESC) AS newest
               FROM device_events e
               WHERE device_id IN (${chunk.map(() => '?').join(', ')}) AND type IN (${types.map(() => '?').join(', ')})
             ) ranked WHERE newest <= ? ORDER BY id DESC`,
          )
          .all(...chunk, ...types, limitPerDevice)) as DeviceEventRow[];
        out.push(...rows.map(deviceEventFromRow));
      }
      return out;
    },

    prune(before, keepPerDevice) {
      return db.transaction(async (tx) => {
        const old = (await tx.prepare('DELETE FROM device_events WHERE received_at < ?').run(before)).changes;
        const extra = (
          await tx
            .prepare(
              `DELETE FROM device_events WHERE id IN (
                 SELECT id FROM (
                   SELECT id, ROW_NUMBER() OVER (PARTITION BY device_id ORDER BY id DESC) AS newest
                   FROM device_events) ranked
                 WHERE newest > ?)`,
            )
            .run(keepPerDevice)
        ).changes;
        return old + extra;
      });
    },
  };
  return events;
}
