/**
 * Who gives devices their broker identity. The role is small on purpose: enrollment provisions a
 * device (its id as username, its secret as password, its client id bound), removal and revocation
 * delete it, and start-up reconciles what the broker holds with the store.
 *
 * Adapters: storeBackedIdentities (the embedded aedes broker, or a broker that calls the HTTP
 * hooks: both check devices against the store on every connect, so there is nothing to
 * provision) and mosquitto-dynsec.ts (Mosquitto's dynamic-security plugin).
 *
 * Secrets exist only as salted one-way hashes in the store, so a device missing on the broker cannot be
 * provisioned again from the store: it re-enrolls (docs/guides/external-broker.md). Keeping a
 * second, reversible copy of every device secret for the broker's sake would turn the database
 * into a credential store for the whole fleet.
 */

export interface ReconcileReport {
  /** Enrolled devices the broker has no identity for (they re-enroll to get one). */
  missing: string[];
  /** Broker identities of devices no longer enrolled; removed. */
  removed: string[];
}

export interface BrokerIdentities {
  readonly kind: 'store' | 'mosquitto-dynsec';
  /** False while the broker cannot take commands (enrollment is refused then, before spending a token). */
  ready(): boolean;
  /** Throws ConflictError when the id names a broker user that is not this device's identity. */
  assertAvailable(deviceId: string): Promise<void>;
  /** Creates the device's identity, or replaces it (re-enrollment: the old secret stops working). */
  provisionDevice(deviceId: string, secret: string): Promise<void>;
  /** Deletes the device's identity; the broker disconnects it. Removing an unknown device is a no-op. */
  removeDevice(deviceId: string): Promise<void>;
  reconcile(enrolled: readonly string[]): Promise<ReconcileReport>;
}

export function storeBackedIdentities(): BrokerIdentities {
  return {
    kind: 'store',
    ready: () => true,
    async assertAvailable() {},
    async provisionDevice() {},
    async removeDevice() {},
    async reconcile() {
      return { missing: [], removed: [] };
    },
  };
}
