/**
 * A device's verified secret is cached, but with several replicas the cache must not outlive a
 * change made through another one: two stores on one database file stand for two replicas, and a
 * rotation or revocation made through one is refused by the other at once. Checks that arrive
 * together share their reads of the stored hashes. A secret an older version stored as a scrypt
 * hash still works, and is stored in the fast form after its first check.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '@edgeloop/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { createDeviceAuthenticator } from '../../../control-plane/src/auth/device-authenticator.ts';
import {
  hashDeviceSecret,
  hashSecret,
  newSecret,
  sha256Text,
} from '../../../control-plane/src/auth/secrets.ts';
import { openSqliteStore } from '../../../control-plane/src/store/sqlite-store.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function twoReplicasWithDevice(hash: (secret: string) => Promise<string> | string = hashDeviceSecret) {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-auth-'));
  const file = join(dir, 'control-plane.db');
  const a = await openSqliteStore(file, silentLogger());
  const b = await openSqliteStore(file, silentLogger());
  cleanups.push(
    () => rmSync(dir, { recursive: true, force: true }),
    () => a.close(),
    () => b.close(),
  );
  const token = newSecret();
  await a.devices.createEnrollmentToken({
    tokenHash: sha256Text(token),
    group: 'default',
    usesLeft: 100,
    expiresAt: new Date(Date.now() + 60_000).toISOString(),
  });
  const secret = newSecret();
  await a.devices.enroll(
    sha256Text(token),
    { deviceId: 'cam-01', name: null, hardware: null, secretHash: await hash(secret) },
    new Date(),
  );
  // Replica A checks devices with a long cache, as a big fleet would configure it.
  const auth = createDeviceAuthenticator(a, { cacheMs: 3_600_000 });
  return { a, b, auth, secret, token };
}

describe('device credential cache with replicas', () => {
  it('refuses a secret rotated through another replica at once, and accepts the new one', async () => {
    const { b, auth, secret } = await twoReplicasWithDevice();
    expect(await auth.verify('cam-01', secret)).toBe(true);
    const rotated = newSecret();
    expect(await b.security.replaceSecretHash('cam-01', hashDeviceSecret(rotated))).toBe(true);
    expect(await auth.verify('cam-01', secret)).toBe(false);
    expect(await auth.verify('cam-01', rotated)).toBe(true);
  });

  it('refuses a device revoked through another replica at once', async () => {
    const { b, auth, secret } = await twoReplicasWithDevice();
    expect(await auth.verify('cam-01', secret)).toBe(true);
    expect(await b.security.revoke('cam-01', 'admin', new Date().toISOString())).toBe(true);
    expect(await auth.verify('cam-01', secret)).toBe(false);
  });
});

describe('a device secret an older version stored as scrypt', () => {
  it('still verifies, is then stored in the fast form, and a wrong secret changes nothing', async () => {
    const { a, b, auth, secret } = await twoReplicasWithDevice(hashSecret);
    const old = await a.devices.secretHash('cam-01');
    expect(old).toMatch(/^scrypt\$/);
    expect(await auth.verify('cam-01', 'not-the-secret')).toBe(false);
    expect(await a.devices.secretHash('cam-01')).toBe(old);

    expect(await auth.verify('cam-01', secret)).toBe(true);
    expect(await b.devices.secretHash('cam-01')).toMatch(/^hmac-sha256\$/);
    // The other replica checks the new form; the first one's cache follows the stored hash.
    const other = createDeviceAuthenticator(b);
    expect(await other.verify('cam-01', secret)).toBe(true);
    expect(await other.verify('cam-01', 'not-the-secret')).toBe(false);
    expect(await auth.verify('cam-01', secret)).toBe(true);
  });

  it('is not stored over a rotation made meanwhile', async () => {
    const { b, auth, secret } = await twoReplicasWithDevice(hashSecret);
    const rotated = newSecret();
    // The rotation lands while replica A is still checking the old secret.
    const checking = auth.verify('cam-01', secret);
    expect(await b.security.replaceSecretHash('cam-01', hashDeviceSecret(rotated))).toBe(true);
    await checking;
    expect(await auth.verify('cam-01', secret)).toBe(false);
    expect(await auth.verify('cam-01', rotated)).toBe(true);
  });
});

describe('device credential checks arriving together', () => {
  it('share their reads of the stored hashes, and each still sees a revocation made before it', async () => {
    const { a, b, secret, token } = await twoReplicasWithDevice();
    const secretHash = await a.devices.secretHash('cam-01');
    const ids = Array.from({ length: 20 }, (_, i) => `cam-${String(i + 2).padStart(2, '0')}`);
    for (const deviceId of ids) {
      await a.devices.enroll(
        sha256Text(token),
        { deviceId, name: null, hardware: null, secretHash: secretHash as string },
        new Date(),
      );
    }
    // Replica A's store, counting the statements its authenticator reads hashes with.
    let reads = 0;
    const devices = {
      ...a.devices,
      secretHashes: (deviceIds: readonly string[]) => {
        reads++;
        return a.devices.secretHashes(deviceIds);
      },
    };
    const auth = createDeviceAuthenticator({ ...a, devices }, { cacheMs: 3_600_000 });
    for (const deviceId of ids) expect(await auth.verify(deviceId, secret)).toBe(true);
    expect(await b.security.revoke('cam-07', 'admin', new Date().toISOString())).toBe(true);
    reads = 0;
    const answers = await Promise.all(ids.map((deviceId) => auth.verify(deviceId, secret)));
    expect(ids.filter((_, i) => !answers[i])).toEqual(['cam-07']);
    // The first read starts at once; the other nineteen checks wait for it and share the next.
    expect(reads).toBeLessThanOrEqual(2);
  });
});
