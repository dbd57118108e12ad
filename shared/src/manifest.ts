/**
 * The signed model manifest: what a device checks before it runs a model. The signature is ed25519
 * (node:crypto) over the canonical encoding of every field except `signature` itself.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
} from 'node:crypto';
import { ManifestError } from './errors.ts';
import { type Manifest, ManifestSchema, type Signature } from './schemas/manifest.ts';
import { parseWith } from './validate.ts';

/**
 * Canonical JSON: object keys sorted by code unit, no insignificant whitespace, `undefined` fields
 * dropped. Numbers use ECMAScript's shortest round-trip form, as RFC 8785 does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export interface SigningKey {
  keyId: string;
  privateKeyPem: string;
  publicKeyPem: string;
}

export interface TrustedKey {
  keyId: string;
  publicKeyPem: string;
}

/** Key id: the first 16 hex digits of sha256 over the public key's DER encoding. */
export function keyIdOf(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

export function generateSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return {
    keyId: keyIdOf(publicKeyPem),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem,
  };
}

/** The bytes a signature covers: the canonical JSON of every field except `signature`. */
function signedBytes(document: { signature?: unknown }): Buffer {
  const { signature: _omit, ...rest } = document;
  return Buffer.from(canonicalJson(rest), 'utf8');
}

/** An ed25519 signature over a document's canonical encoding (models and agent bundles alike). */
export function signDocument(document: { signature?: unknown }, key: SigningKey): Signature {
  const value = sign(null, signedBytes(document), createPrivateKey(key.privateKeyPem)).toString('base64');
  return { alg: 'ed25519', keyId: key.keyId, value };
}

/**
 * Checks a document's signature against `trustedKeys`: MANIFEST_UNSIGNED, MANIFEST_UNTRUSTED_KEY
 * or MANIFEST_SIGNATURE_INVALID otherwise. `what` names the document in the messages.
 */
export function checkDocumentSignature(
  document: { signature?: Signature },
  trustedKeys: readonly TrustedKey[],
  what: string,
): void {
  const signature = document.signature;
  if (!signature) throw new ManifestError('MANIFEST_UNSIGNED', `${what} is not signed`);
  const key = trustedKeys.find((k) => k.keyId === signature.keyId);
  if (!key) {
    throw new ManifestError('MANIFEST_UNTRUSTED_KEY', `${what} signed by untrusted key ${signature.keyId}`);
  }
  // Node's base64 decoder skips characters it does not know and ignores padding bits: only the
  // one canonical encoding of a signature is accepted, so a document cannot be re-encoded into a
  // different-looking one that still verifies.
  const signatureBytes = Buffer.from(signature.value, 'base64');
  if (signatureBytes.toString('base64') !== signature.value) {
    throw new ManifestError('MANIFEST_SIGNATURE_INVALID', `${what} signature is not canonical base64`);
  }
  const ok = verify(null, signedBytes(document), createPublicKey(key.publicKeyPem), signatureBytes);
  if (!ok)
    throw new ManifestError('MANIFEST_SIGNATURE_INVALID', `${what} signature does not match its content`);
}

/** Signs a numbered manifest (any signature it carries is replaced). */
export function signManifest(manifest: Manifest, key: SigningKey): Manifest {
  const unsigned = parseWith(ManifestSchema, { ...manifest, signature: undefined }, 'manifest');
  return { ...unsigned, signature: signDocument(unsigned, key) };
}

export interface VerifyOptions {
  trustedKeys: readonly TrustedKey[];
  now?: Date;
}

/**
 * Validates and verifies a manifest; returns it typed. Rejects, with a named code: malformed
 * (VALIDATION_FAILED), unsigned (MANIFEST_UNSIGNED), signed by a key not in `trustedKeys`
 * (MANIFEST_UNTRUSTED_KEY), tampered (MANIFEST_SIGNATURE_INVALID) and expired (MANIFEST_EXPIRED).
 */
export function verifyManifest(data: unknown, options: VerifyOptions): Manifest {
  const manifest = parseWith(ManifestSchema, data, 'manifest');
  checkDocumentSignature(manifest, options.trustedKeys, 'manifest');
  const now = options.now ?? new Date();
  if (Date.parse(manifest.expiresAt) <= now.getTime()) {
    throw new ManifestError('MANIFEST_EXPIRED', `manifest expired at ${manifest.expiresAt}`);
  }
  return manifest;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
