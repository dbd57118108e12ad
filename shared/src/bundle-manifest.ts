/**
 * Signing and checking agent bundle manifests: the model manifest's machinery (ed25519 over the
 * canonical JSON, same key ids) applied to a software bundle, so one key signs everything a
 * device installs.
 */
import { checkDocumentSignature, type SigningKey, signDocument, type TrustedKey } from './manifest.ts';
import { type BundleManifest, BundleManifestSchema } from './schemas/bundle-manifest.ts';
import { parseWith } from './validate.ts';

export const BUNDLE_MANIFEST_FILE = 'bundle-manifest.json';

export function signBundleManifest(manifest: BundleManifest, key: SigningKey): BundleManifest {
  const unsigned = parseWith(BundleManifestSchema, { ...manifest, signature: undefined }, 'bundle manifest');
  return { ...unsigned, signature: signDocument(unsigned, key) };
}

/** Validates and checks the signature (named MANIFEST_* errors); returns the manifest typed. */
export function verifyBundleManifest(data: unknown, trustedKeys: readonly TrustedKey[]): BundleManifest {
  const manifest = parseWith(BundleManifestSchema, data, 'bundle manifest');
  checkDocumentSignature(manifest, trustedKeys, 'bundle manifest');
  return manifest;
}
