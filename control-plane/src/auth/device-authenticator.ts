/**
 * Checks device credentials (id + secret) for both the broker and the HTTP API. Device secrets
 * are kept as a salted HMAC (auth/secrets.ts: 32 random bytes need no slow hash), so a check costs
 * one indexed read and microseconds; a hash an older version stored as scrypt still verifies
 * (through the bounded hashing queue) and is then replaced by the fast form, so each device pays
 * that once, not once per replica start. A successful check is cached briefly, keyed by a sha256
 * of the secret, together with the stored hash it was checked against: a cached answer holds only
 * while the database still has that hash, so a secret rotated or a device revoked through any
 * replica stops working on all of them at once. Failures are never cached, and an unknown device
 * costs the same as a known one (no oracle).
 * Devices enrolled with a CSR prove who they are with their client certificate instead
 * (verifyCertificate); they have no secret at all.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '@edgeloop/shared';
import type { CredentialGuard } from '../limits/credential-guard.ts';
import { gatheredReads } from '../store/gathered-reads.ts';
import type { Store } from '../store/store.ts';
import { hashDeviceSecret, isSecretHash, isSlowHash, verifySecret } from './secrets.ts';

export interface DeviceAuthenticator {
  /**
   * A cached success answers at once; anything else first passes the guard (per `address` and
   * per device id, then the hashing queue) and may throw RateLimitedError.
   */
  verify(deviceId: string, secret: string, address?: string): Promise<boolean>;

  /**
   * A client certificate our CA issued and the TLS handshake verified: accepted when it is the one
   * recorded for this device at enrollment and the device is not revoked.
   */
  verifyCertificate(deviceId: string, fingerprint: string): Promise<boolean>;
  /** Drops cached checks of a device whose secret changed (re-enrollment, rotation, revocation). */
  forget(deviceId: string): void;
}

const MAX_CACHED = 200_000;
/** What an unknown, revoked or certificate-only device is checked against: never matches. */
const DUMMY_HASH = hashDeviceSecret('');

export function createDeviceAuthenticator(
  store: Store,
  options: { cacheMs?: number; now?: () => number; guard?: CredentialGuard; logger?: Logger } = {},
): DeviceAuthenticator {
  const cacheMs = options.cacheMs ?? 60_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { until: number; hash: string }>();
  const read = gatheredReads((ids) => store.devices.secretHashes(ids));
  const secretHash = async (deviceId: string) => (await read(deviceId)) ?? null;

  /** An older scrypt hash replaced by the fast form; the stored hash the check now stands on. */
  async function rehash(deviceId: string, secret: string, from: string): Promise<string> {
    const to = hashDeviceSecret(secret);
    try {
      // Lost to a rotation or revocation meanwhile: the cached answer then fails its next read.
      return (await store.security.rehashSecret(deviceId, from, to)) ? to : from;
    } catch (err) {
      options.logger?.warn({ deviceId, err }, 'could not store the faster hash of a device secret');
      return from;
    }
  }

  return {
    async verify(deviceId, secret, address = 'unknown') {
      const key = `${deviceId}\n${createHash('sha256').update(secret).digest('hex')}`;
      const cached = cache.get(key);
      let found: string | null | undefined;
      if (cached !== undefined && cached.until > now()) {
        // One indexed read (shared with the checks waiting beside it) instead of a scrypt: is it
        // still the hash this secret was checked against?
        found = await secretHash(deviceId);
        if (found === cached.hash) return true;
      }
      cache.delete(key);
      const { guard } = options;
      const attempt = await guard?.admit('device', address, deviceId);
      // Read after admission (a refused flood costs no read), unless the cache check just did.
      if (found === undefined) found = await secretHash(deviceId);
      // Revoked and certificate-only devices hold a marker, not a hash: same cost as a real check.
      let stored = found && isSecretHash(found) ? found : null;
      const check = () => verifySecret(secret, stored ?? DUMMY_HASH);
      // Only scrypt needs the hashing queue's bound; the device form costs microseconds.
      const ok = await (guard && stored !== null && isSlowHash(stored)
        ? guard.hash('device', check)
        : check());
      if (!ok || stored === null) {
        await attempt?.failed();
        return false;
      }
      if (isSlowHash(stored)) stored = await rehash(deviceId, secret, stored);
      // Bounded, and far above a fleet's size so a big fleet does not keep checking again.
      if (cache.size >= MAX_CACHED) cache.clear();
      cache.set(key, { until: now() + cacheMs, hash: stored });
      return true;
    },
    async verifyCertificate(deviceId, fingerprint) {
      const recorded = await store.security.certificateOf(deviceId);
      return recorded !== null && recorded === fingerprint;
    },
    forget(deviceId) {
      for (const key of cache.keys()) if (key.startsWith(`${deviceId}\n`)) cache.delete(key);
    },
  };
}
