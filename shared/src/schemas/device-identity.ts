/** Device identity management: revocation, secret rotation and the manifest signing keys. */
import { z } from 'zod';
import { PROTOCOL_VERSION } from '../protocol.ts';

export const RevokeDeviceResponseSchema = z.object({
  deviceId: z.string(),
  revokedAt: z.iso.datetime(),
  /** Live MQTT connections of the device the broker closed (0 with an external broker). */
  connectionsClosed: z.number().int().nonnegative(),
});

/**
 * A device replaces its own secret: it makes the new one (and keeps it on disk before asking), so
 * a lost answer never leaves it locked out: it tries the old secret, then the new one.
 */
export const RotateSecretSchema = z.object({
  protocol: z.literal(PROTOCOL_VERSION),
  secret: z.string().min(32).max(200),
});

export const SigningKeyInfoSchema = z.object({
  keyId: z.string(),
  publicKeyPem: z.string(),
  /** active: signs now; trusted: published for devices to trust (the next key, or the last one). */
  state: z.enum(['active', 'trusted']),
});
export const SigningKeysSchema = z.object({ keys: z.array(SigningKeyInfoSchema) });
export type SigningKeys = z.infer<typeof SigningKeysSchema>;
