/**
 * Signing after publish: a version's manifest is re-signed with a fresh expiry when it is close
 * to expiring (so a fleet can still install it), and a rollback manifest — the same files, marked
 * `rollback: true`, short-lived — is signed only when an operator or a rollout orders devices back
 * to that version. Devices accept an older version only through such a manifest.
 */
import {
  apiRoutes,
  type Manifest,
  NotFoundError,
  routeUrl,
  type SigningKey,
  signManifest,
} from '@edgeloop/shared';
import type { Store } from '../store/store.ts';

const DAY_MS = 86_400_000;
/** Rollback manifests live briefly: a replayed old one stops working soon. */
export const ROLLBACK_TTL_DAYS = 7;

export function rollbackManifestPathOf(modelVersion: number): string {
  return routeUrl(apiRoutes.getRollbackManifest, { version: modelVersion });
}

export interface ManifestSigner {
  /** The version's manifest, re-signed first when less than a tenth of its lifetime is left. */
  current(modelVersion: number, now?: Date): Manifest;
  /** Signs (or re-signs) the rollback manifest of a version; returns its path for desired state. */
  orderRollback(modelVersion: number, now?: Date): string;
  /** The rollback manifest, renewed when it is about to expire; null when none was ordered. */
  rollback(modelVersion: number, now?: Date): Manifest | null;
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

  function signRollback(modelVersion: number, now: Date): Manifest {
    const record = store.getModelVersion(modelVersion);
    if (!record) throw new NotFoundError(`model version ${modelVersion} does not exist`);
    const expiresAt = new Date(now.getTime() + ROLLBACK_TTL_DAYS * DAY_MS).toISOString();
    const manifest = signManifest({ ...record.manifest, rollback: true, expiresAt }, signingKey);
    store.rollouts.putRollbackManifest(modelVersion, manifest, now.toISOString());
    return manifest;
  }

  return {
    current(modelVersion, now = new Date()) {
      const record = store.getModelVersion(modelVersion);
      if (!record) throw new NotFoundError(`model version ${modelVersion} does not exist`);
      if (!nearExpiry(record.manifest, deps.ttlDays, now)) return record.manifest;
      const expiresAt = new Date(now.getTime() + deps.ttlDays * DAY_MS).toISOString();
      const renewed = signManifest({ ...record.manifest, expiresAt }, signingKey);
      store.updateModelManifest(modelVersion, renewed);
      return renewed;
    },
    orderRollback(modelVersion, now = new Date()) {
      signRollback(modelVersion, now);
      return rollbackManifestPathOf(modelVersion);
    },
    rollback(modelVersion, now = new Date()) {
      const stored = store.rollouts.getRollbackManifest(modelVersion);
      if (!stored) return null;
      return nearExpiry(stored, ROLLBACK_TTL_DAYS, now) ? signRollback(modelVersion, now) : stored;
    },
  };
}
