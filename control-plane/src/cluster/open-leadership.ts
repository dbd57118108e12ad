/** Chooses how this control plane leads: alone (embedded default) or elected among replicas. */
import { hostname } from 'node:os';
import { ConfigError, type ControlPlaneConfig, type Logger } from '@edgeloop/shared';
import { resolveBroker } from '../mqtt/broker-config.ts';
import type { Store } from '../store/store.ts';
import { type Leadership, leaseLeadership, soleLeadership } from './leadership.ts';

export function openLeadership(config: ControlPlaneConfig, store: Store, logger: Logger): Leadership {
  const cluster = config.cluster;
  if (!cluster.enabled) return soleLeadership(logger);
  if (resolveBroker(config.mqtt).kind !== 'external') {
    // Each replica's embedded broker would hold only its own devices' connections.
    throw new ConfigError(
      'cluster.enabled needs an external MQTT broker (mqtt.external) that every replica shares',
    );
  }
  const replicaId = cluster.replicaId ?? `${hostname()}-${process.pid}`;
  logger.info({ replicaId, leaseSeconds: cluster.leaseSeconds }, 'running as one of several replicas');
  return leaseLeadership({
    leases: store.leases,
    replicaId,
    leaseMs: cluster.leaseSeconds * 1000,
    logger,
  });
}
