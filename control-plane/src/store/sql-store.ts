/** The Store over any `SqlDatabase`: the same sub-stores and SQL on SQLite and Postgres. */

import type { Logger } from '@edgeloop/shared';
import { SqlAgentVersionStore } from './agent-version-store.ts';
import { SqlAlertStore } from './alert-store.ts';
import { SqlConfigStore } from './config-store.ts';
import { SqlDashboardStore } from './dashboard-store.ts';
import { SqlDatasetStore } from './dataset-store.ts';
import { createSqlDeviceStore } from './device-store.ts';
import { createSqlEventStore } from './event-store.ts';
import { createSqlFleetTargetStore } from './fleet-target-store.ts';
import type { KyselyDatabase } from './kysely-database.ts';
import { SqlLabellingStore } from './labelling-store.ts';
import { createSqlLeaseStore } from './lease-store.ts';
import { createSqlModelStore } from './model-store.ts';
import { SqlPipelineStore } from './pipeline-store.ts';
import { createSqlRateBucketStore } from './rate-bucket-store.ts';
import { SqlRegistryStore } from './registry-store.ts';
import { createSqlRolloutStore } from './rollout-store.ts';
import { createSqlSampleStore } from './sample-store.ts';
import { SqlSecurityStore } from './security-store.ts';
import { createSqlSessionStore } from './session-store.ts';
import type { SqlDatabase } from './sql.ts';
import type { Store } from './store.ts';
import { SqlWebhookDeliveryStore } from './webhook-delivery-store.ts';

/** `leaseDb`: where leases are taken and renewed, when not on `db` (a connection of their own). */
export function createSqlStore(
  db: SqlDatabase,
  close: () => Promise<void>,
  leaseDb: SqlDatabase = db,
): Store {
  return {
    engine: db.dialect,
    devices: createSqlDeviceStore(db),
    events: createSqlEventStore(db),
    models: createSqlModelStore(db),
    samples: createSqlSampleStore(db),
    rollouts: createSqlRolloutStore(db),
    targets: createSqlFleetTargetStore(db),
    labelling: new SqlLabellingStore(db),
    datasets: new SqlDatasetStore(db),
    registry: new SqlRegistryStore(db),
    pipeline: new SqlPipelineStore(db),
    dashboard: new SqlDashboardStore(db),
    alerts: new SqlAlertStore(db),
    config: new SqlConfigStore(db),
    webhookDeliveries: new SqlWebhookDeliveryStore(db),
    security: new SqlSecurityStore(db),
    sessions: createSqlSessionStore(db),
    leases: createSqlLeaseStore(leaseDb),
    rateBuckets: createSqlRateBucketStore(db),
    agentVersions: new SqlAgentVersionStore(db),
    transaction: (fn) =>
      db.transaction((tx) =>
        fn(
          createSqlStore(tx, async () => {
            throw new Error('close the store, not a transaction');
          }),
        ),
      ),
    close,
  };
}

/**
 * Migrates the database (closing it if that fails) and returns the Store on it; leases on
 * `leases` when given (the same database through a connection of their own), closed with it.
 */
export async function migratedStore(
  kysely: KyselyDatabase,
  logger: Logger,
  leases?: KyselyDatabase,
): Promise<Store> {
  const closeAll = async () => {
    await Promise.all([kysely.close(), leases?.close()]);
  };
  try {
    await kysely.migrate(logger);
  } catch (err) {
    await closeAll();
    throw err;
  }
  let closed = false;
  return createSqlStore(
    kysely.sql,
    async () => {
      if (closed) return;
      closed = true;
      await closeAll();
    },
    leases?.sql,
  );
}
