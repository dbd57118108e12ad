/**
 * Secrets the control plane hands out and how it keeps them, each hashed as slowly as it needs:
 * - people's passwords (sign-in users, `edgeloop hash-password`): salted scrypt, slow on purpose,
 *   because a password can be guessed;
 * - device secrets: salted HMAC-SHA-256. They are 32 random bytes made by the control plane at
 *   enrollment or by the agent when it rotates (at least 32 characters): nobody can guess 2^256
 *   values however fast each try is, so a slow hash buys nothing and cost a fleet dearly — every
 *   replica checks every device once after it starts, and at 10,000 devices scrypt's 50–100 ms of
 *   a core each made a rollout's first downloads wait minutes behind the hashing queue (see
 *   docs/benchmarks.md). Device hashes stored as scrypt by older versions still verify, and are
 *   replaced by the fast form on their first successful check (device-authenticator.ts);
 * - enrollment tokens: sha256 (long random values that expire);
 * and constant-time comparison everywhere.
 */
import {
  createHash,
  createHmac,
  randomBytes,
  type ScryptOptions,
  scrypt,
  timingSafeEqual,
} from 'node:crypto';

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 } as const;

function scryptAsync(secret: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/**
 * 32 random bytes, base64url: a device secret or the admin token. Never starting with '-': a
 * secret passed as `--admin-token -x…` would read as an option to every CLI (node's parseArgs).
 */
export function newSecret(): string {
  for (;;) {
    const secret = randomBytes(32).toString('base64url');
    if (!secret.startsWith('-')) return secret;
  }
}

/** `scrypt$N$r$p$salt$hash`, salt and hash base64url, so parameters can change later. */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(secret, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64url'), key.toString('base64url')].join(
    '$',
  );
}

const DEVICE_SCHEME = 'hmac-sha256';

function hmac(secret: string, salt: Buffer): Buffer {
  return createHmac('sha256', salt).update(secret, 'utf8').digest();
}

/** `hmac-sha256$salt$hash`: for secrets of 32 random bytes only (device secrets), never passwords. */
export function hashDeviceSecret(secret: string): string {
  const salt = randomBytes(16);
  return [DEVICE_SCHEME, salt.toString('base64url'), hmac(secret, salt).toString('base64url')].join('$');
}

/** A stored hash this version can verify: scrypt (passwords, older device secrets) or the device form. */
export function isSecretHash(stored: string): boolean {
  return stored.startsWith('scrypt$') || stored.startsWith(`${DEVICE_SCHEME}$`);
}

/** A slow hash: checking it costs a place in the bounded hashing queue. */
export function isSlowHash(stored: string): boolean {
  return stored.startsWith('scrypt$');
}

function verifyDeviceHash(secret: string, [, salt, hash]: string[]): boolean {
  if (!salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = hmac(secret, Buffer.from(salt, 'base64url'));
  return key.length === expected.length && timingSafeEqual(key, expected);
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const fields = stored.split('$');
  if (fields[0] === DEVICE_SCHEME) return verifyDeviceHash(secret, fields);
  const [scheme, n, r, p, salt, hash] = fields;
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await scryptAsync(secret, Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return timingSafeEqual(key, expected);
}

export function sha256Text(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Compares two strings in constant time (over their sha256, so lengths may differ). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}
