/**
 * Long-lived secrets kept in dataDir, created on first start with mode 0600 (atomically, never
 * over an existing file) and reused after: the manifest signing key (signing-key.json) and the
 * admin token (admin-token).
 */

import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ConfigError,
  createFileAtomicSync,
  generateSigningKey,
  keyIdOf,
  PRIVATE_DIR_MODE,
  type SigningKey,
} from '@edgeloop/shared';
import { newSecret } from './secrets.ts';

function readIfExists(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** If two processes race on a fresh dataDir, one fails loudly (EEXIST) instead of both writing. */
function writeSecretFile(file: string, text: string): void {
  createFileAtomicSync(file, text);
}

export function signingKeyPath(dataDir: string): string {
  return join(dataDir, 'signing-key.json');
}

/** The previous signing key after a rotation, trusted until it is retired. */
export function previousSigningKeyPath(dataDir: string): string {
  return join(dataDir, 'signing-key.previous.json');
}

export function adminTokenPath(dataDir: string): string {
  return join(dataDir, 'admin-token');
}

/**
 * The signing key of dataDir, made on first start. Once devices are enrolled they trust that key
 * only, so a missing file then is an error, not a reason to make a new key (every device would
 * refuse every manifest and desired state signed by it).
 */
export function loadOrCreateSigningKey(
  dataDir: string,
  options: { devicesEnrolled?: boolean } = {},
): SigningKey {
  const file = signingKeyPath(dataDir);
  const text = readIfExists(file);
  if (text === null) {
    if (options.devicesEnrolled) {
      throw new ConfigError(
        `signing key file ${file} is missing but devices are enrolled and trust it; restore it from a backup (a new key would be refused by every device)`,
      );
    }
    mkdirSync(dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
    const key = generateSigningKey();
    writeSecretFile(file, `${JSON.stringify(key, null, 2)}\n`);
    return key;
  }
  return parseSigningKey(text, file);
}

export function parseSigningKey(text: string, file: string): SigningKey {
  let key: SigningKey;
  try {
    key = JSON.parse(text) as SigningKey;
    if (keyIdOf(key.publicKeyPem) !== key.keyId || typeof key.privateKeyPem !== 'string')
      throw new Error('mismatch');
  } catch {
    throw new ConfigError(`signing key file ${file} is damaged; restore it from a backup`);
  }
  return key;
}

/** The configured token wins; otherwise one is generated once into dataDir/admin-token. */
export function loadOrCreateAdminToken(
  dataDir: string,
  configured?: string,
): { token: string; file: string | null } {
  if (configured) return { token: configured, file: null };
  const file = adminTokenPath(dataDir);
  const text = readIfExists(file)?.trim();
  if (text) return { token: text, file };
  mkdirSync(dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const token = newSecret();
  writeSecretFile(file, `${token}\n`);
  return { token, file };
}
