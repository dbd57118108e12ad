/**
 * Devices whose retained message (desired state or desired config) the broker has not confirmed,
 * published again on this replica's next connect. The database holds the change, but only the
 * leader republishes the fleet, and only on a connection the broker did not resume: a replica
 * whose publish failed (its connection dropped under it, or was taken by another client) would
 * otherwise leave those devices on their old state until the next election.
 */
import type { Logger } from '@edgeloop/shared';
import type { MqttConnection } from '../mqtt/mqtt-client.ts';

export interface UnconfirmedPublishes {
  /** Records the outcome of a publish to these devices (and logs those that failed). */
  settle(deviceIds: readonly string[], failed: readonly string[]): void;
}

export function retryUnconfirmed(
  connection: MqttConnection,
  publish: (deviceIds: readonly string[]) => Promise<void>,
  logger: Logger,
  what: string,
): UnconfirmedPublishes {
  const unconfirmed = new Set<string>();
  connection.onConnect(async () => {
    if (unconfirmed.size === 0) return;
    const ids = [...unconfirmed];
    logger.info({ count: ids.length }, `publishing ${what} the broker had not confirmed`);
    // publish() settles them again: what fails now waits for the next connect.
    await publish(ids);
  });
  return {
    settle(deviceIds, failed) {
      for (const id of deviceIds) unconfirmed.delete(id);
      for (const id of failed) unconfirmed.add(id);
      // The database holds the change and the next connect publishes it: log, do not fail.
      if (failed.length > 0)
        logger.warn(
          { count: failed.length, devices: failed.slice(0, 20) },
          `${what} not confirmed by the broker yet`,
        );
    },
  };
}
