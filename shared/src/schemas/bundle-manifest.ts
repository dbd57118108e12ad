import { z } from 'zod';
import { TrustedKeySchema } from '../config/agent-config.ts';
import { Sha256HexSchema, SignatureSchema } from './manifest.ts';

/** Paths inside a bundle: relative, '/'-separated, no '..' or empty segments, no leading slash. */
export const BundlePathSchema = z
  .string()
  .min(1)
  .max(1024)
  .refine(
    (p) => !p.startsWith('/') && p.split('/').every((s) => s !== '' && s !== '.' && s !== '..'),
    'expected a relative path inside the bundle',
  );

export const BundleFileSchema = z.object({
  path: BundlePathSchema,
  sha256: Sha256HexSchema,
  bytes: z.number().int().nonnegative(),
  /** Executable bits matter for node and the scripts; everything else is installed 0644. */
  executable: z.boolean().default(false),
});
export type BundleFile = z.infer<typeof BundleFileSchema>;

/**
 * bundle-manifest.json at the top of an agent bundle: what it is, for which machine, and every
 * other file in it with its hash, signed with the control plane's manifest key (ed25519, the same
 * canonical encoding as model manifests).
 */
export const BundleManifestSchema = z.object({
  kind: z.literal('edgeloop-agent-bundle'),
  formatVersion: z.literal(1),
  agentVersion: z.string().regex(/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/, 'expected a semver version'),
  platform: z.literal('linux'),
  arch: z.enum(['arm64', 'x64']),
  /** The Node version shipped in node/ (with --with-node), or the minimum the device must have. */
  node: z.object({ bundled: z.boolean(), version: z.string().min(1) }),
  createdAt: z.iso.datetime(),
  files: z.array(BundleFileSchema).min(1).max(100_000),
  /**
   * The key that signed it, so the installer can make devices trust it for models too. Checking a
   * bundle against this key alone proves it is intact, not who made it: pass a key you hold.
   */
  signer: TrustedKeySchema,
  signature: SignatureSchema.optional(),
});
export type BundleManifest = z.infer<typeof BundleManifestSchema>;
