/**
 * Signing after publish: a version's manifest is re-signed with a fresh expiry when it is close
 * to expiring (so a fleet can still install it), and a rollback manifest — the same files, marked
 * `rollback: true`, short-lived — is signed only when an operator or a rollout orders devices back
 * to that version. Devices accept an older version only through such a manifest, and only when it
 * names the order (`rollbackOrder`) their signed desired state names. A rollback manifest is never
 * renewed: once it expires it is dead for good, and only a new order signs another.
 */
import {
  apiRoutes,
  type Manifest,
  NotFoundError,
  routeUrl,
  type SigningKey,
  signManifest,
} from '@edgeloop/shared';
import type { ModelVersionRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';

const DAY_MS = 86_400_000;
/** Rollback manifests live briefly: a replayed old one stops working soon. */
export const ROLLBACK_TTL_DAYS = 7;

export function rollbackManifestPathOf(modelVersion: number): string {
  return routeUrl(apiRoutes.getRollbackManifest, { version: modelVersion });
}

export interface ManifestSigner {
  /** The version's manifest, re-signed first when less than a tenth of its lifetime is left. */
  current(modelVersion: number, now?: Date, known?: ModelVersionRecord): Promise<Manifest>;
  /**
   * Signs the rollback manifest of a version for one order (`rollout:ID`, or a fleet change);
   * returns its path for desired state.
   */
  orderRollback(modelVersion: number, order: string, now?: Date): Promise<string>;
  /** The rollback manifest as signed (expired ones too: devices refuse them); null if none. */
  rollback(modelVersion: number): Promise<Manifest | null>;
  /** The order the version's current rollback manifest was signed for. */
  rollbackOrderOf(modelVersion: number): Promise<string | undefined>;
}

export function createManifestSigner(deps: {
  store: Store;
  signingKey: SigningKey;
  ttlDays: number;
}): ManifestSigner {
  const { store, signingKey } = deps;

  function nearExpiry(manifest: Manifest, ttlDays: number, now: Date): boolean {
    return Date.parse(manifest.expiresAt) - now.getTime() < (ttlDays * DAY_MS) / 10;
  }

  async function signRollback(modelVersion: number, order: string, now: Date): Promise<Manifest> {
    const record = await store.models.get(modelVersion);
    if (!record) throw new NotFoundError(`model version ${modelVersion} does not exist`);
    const expiresAt = new Date(now.getTime() + ROLLBACK_TTL_DAYS * DAY_MS).toISOString();
    const manifest = signManifest(
      { ...record.manifest, rollback: true, rollbackOrder: order, expiresAt },
      signingKey,
    );
    await store.rollouts.putRollbackManifest(modelVersion, manifest, now.toISOString());
    return manifest;
  }

  return {
    async current(modelVersion, now = new Date(), known) {
      // `known`: the caller read the version just now (a device's download asks per file).
      const record = known?.modelVersion === modelVersion ? known : await store.models.get(modelVersion);
      if (!record) throw new NotFoundError(`model version ${modelVersion} does not exist`);
      if (!nearExpiry(record.manifest, deps.ttlDays, now)) return record.manifest;
      const expiresAt = new Date(now.getTime() + deps.ttlDays * DAY_MS).toISOString();
      const renewed = signManifest({ ...record.manifest, expiresAt }, signingKey);
      await store.models.updateManifest(modelVersion, renewed);
      return renewed;
    },
    async orderRollback(modelVersion, order, now = new Date()) {
      // One rollback manifest per version: while the current one has over half its life left,
      // every order back to this version shares it (and its order), so devices already sent back
      // by an earlier order keep a manifest that matches their desired state.
      const stored = await store.rollouts.getRollbackManifest(modelVersion);
      const fresh =
        stored?.rollbackOrder !== undefined &&
        Date.parse(stored.expiresAt) - now.getTime() > (ROLLBACK_TTL_DAYS * DAY_MS) / 2;
      if (!fresh) await signRollback(modelVersion, order, now);
      return rollbackManifestPathOf(modelVersion);
    },
    async rollback(modelVersion) {
      return store.rollouts.getRollbackManifest(modelVersion);
    },
    async rollbackOrderOf(modelVersion) {
      return (await store.rollouts.getRollbackManifest(modelVersion))?.rollbackOrder;
    },
  };
}
