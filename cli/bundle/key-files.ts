/**
 * Key files the bundle commands read: the control plane's signing-key.json (to sign) and a public
 * key to check against, either a PEM file or that same JSON (its publicKeyPem is used).
 */
import { readFileSync } from 'node:fs';
import { ConfigError, keyIdOf, type SigningKey, type TrustedKey } from '@edgeloop/shared';

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${what} ${file}: ${(err as Error).message}`);
  }
}

export function readSigningKeyFile(file: string): SigningKey {
  const text = readText(file, 'signing key');
  try {
    const key = JSON.parse(text) as SigningKey;
    if (typeof key.privateKeyPem !== 'string' || keyIdOf(key.publicKeyPem) !== key.keyId)
      throw new Error('mismatch');
    return key;
  } catch {
    throw new ConfigError(`${file} is not a signing key file (the control plane's signing-key.json)`);
  }
}

export function readPublicKeyFile(file: string): TrustedKey {
  const text = readText(file, 'public key');
  let pem = text;
  if (text.trimStart().startsWith('{')) {
    try {
      pem = (JSON.parse(text) as { publicKeyPem: string }).publicKeyPem;
    } catch {
      throw new ConfigError(`${file} is neither a PEM public key nor a key JSON file`);
    }
  }
  try {
    return { keyId: keyIdOf(pem), publicKeyPem: pem };
  } catch {
    throw new ConfigError(`${file} holds no valid public key`);
  }
}
