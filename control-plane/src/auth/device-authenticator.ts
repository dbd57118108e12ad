/**
 * Checks device credentials (id + secret) for both the broker and the HTTP API. scrypt is slow on
 * purpose, so a successful check is cached briefly, keyed by a sha256 of the secret, together with
 * the stored hash it was checked against: a cached answer holds only while the database still has
 * that hash, so a secret rotated or a device revoked through any replica stops working on all of
 * them at once. Failures are never cached and every check of an unknown device still costs one
 * scrypt (no timing oracle).
 * Devices enrolled with a CSR prove who they are with their client certificate instead
 * (verifyCertificate); they have no secret at all.
 */
import { createHash } from 'node:crypto';
import type { CredentialGuard } from '../limits/credential-guard.ts';
import { gatheredReads } from '../store/gathered-reads.ts';
import type { Store } from '../store/store.ts';
import { verifySecret } from './secrets.ts';

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
const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

export function createDeviceAuthenticator(
  store: Store,
  options: { cacheMs?: number; now?: () => number; guard?: CredentialGuard } = {},
): DeviceAuthenticator {
  const cacheMs = options.cacheMs ?? 60_000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { until: number; hash: string }>();
  const read = gatheredReads((ids) => store.devices.secretHashes(ids));
  const secretHash = async (deviceId: string) => (await read(deviceId)) ?? null;

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
      const stored = found?.startsWith('scrypt$') ? found : null;
      const check = () => verifySecret(secret, stored ?? DUMMY_HASH);
      const ok = await (guard ? guard.hash('device', check) : check());
      if (!ok || stored === null) {
        await attempt?.failed();
        return false;
      }
      // Bounded, and far above a fleet's size so a big fleet does not keep redoing scrypt.
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
