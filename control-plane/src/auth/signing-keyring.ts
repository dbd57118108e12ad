/**
 * The manifest signing keys: one active key that signs, and after a rotation the previous key,
 * still trusted until retired. Two keys at most, as in TUF's root rotation: devices learn the new
 * key from a desired state signed by both, so no device ever meets a signature it cannot check.
 *
 *   rotate: a new key becomes active; the old one moves to signing-key.previous.json
 *   retire: the previous key is deleted; manifests it signed are re-signed by the active key
 *
 * Files are written atomically with mode 0600.
 */
import { readFileSync, rmSync } from 'node:fs';
import {
  ConflictError,
  generateSigningKey,
  NotFoundError,
  type SigningKey,
  type SigningKeys,
  type TrustedKey,
  writeFileAtomic,
} from '@edgeloop/shared';
import { parseSigningKey, previousSigningKeyPath, signingKeyPath } from './key-files.ts';

export interface SigningKeyring {
  /** The key that signs now. A live view: after rotate() it is the new key. */
  readonly active: SigningKey;
  /** Keys that sign desired states (active first, then the previous one during a rotation). */
  signers(): SigningKey[];
  /** What devices are told to trust. */
  trusted(): TrustedKey[];
  list(): SigningKeys;
  rotate(): Promise<SigningKeys>;
  /** Forgets the previous key; the caller re-signs what it signed. */
  retire(keyId: string): Promise<SigningKeys>;
}

function publicOf(key: SigningKey): TrustedKey {
  return { keyId: key.keyId, publicKeyPem: key.publicKeyPem };
}

export function openSigningKeyring(dataDir: string, active: SigningKey): SigningKeyring {
  let current = active;
  const previousFile = previousSigningKeyPath(dataDir);
  let previous: SigningKey | null = null;
  try {
    previous = parseSigningKey(readFileSync(previousFile, 'utf8'), previousFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }

  const list = (): SigningKeys => ({
    keys: [
      { ...publicOf(current), state: 'active' as const },
      ...(previous ? [{ ...publicOf(previous), state: 'trusted' as const }] : []),
    ],
  });
  const save = (file: string, key: SigningKey) =>
    writeFileAtomic(file, `${JSON.stringify(key, null, 2)}\n`, { mode: 0o600 });

  // Getters: the manifest signer and model registry keep this object and sign with whatever key
  // is active when they sign.
  const view: SigningKey = {
    get keyId() {
      return current.keyId;
    },
    get privateKeyPem() {
      return current.privateKeyPem;
    },
    get publicKeyPem() {
      return current.publicKeyPem;
    },
  };

  return {
    active: view,
    signers: () => [current, ...(previous ? [previous] : [])],
    trusted: () => [publicOf(current), ...(previous ? [publicOf(previous)] : [])],
    list,
    async rotate() {
      if (previous) {
        throw new ConflictError(
          `retire signing key ${previous.keyId} before rotating again (two keys at most)`,
        );
      }
      const next = generateSigningKey();
      // Previous first: a crash in between leaves the old key in both files, never lost.
      await save(previousFile, current);
      await save(signingKeyPath(dataDir), next);
      previous = current;
      current = next;
      return list();
    },
    async retire(keyId) {
      if (keyId === current.keyId) throw new ConflictError(`signing key ${keyId} is active; rotate first`);
      if (!previous || previous.keyId !== keyId) throw new NotFoundError(`no trusted signing key ${keyId}`);
      rmSync(previousFile, { force: true });
      previous = null;
      return list();
    },
  };
}
