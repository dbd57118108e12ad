/**
 * Enrollment: an admin mints a token (kept only as a sha256), a device trades it for an id and a
 * secret (kept only as a scrypt hash). Spending the token and creating the device are one
 * transaction, so a refused enrollment changes nothing.
 */
import { randomBytes } from 'node:crypto';
import {
  ConflictError,
  type CreateEnrollmentToken,
  type EnrollRequest,
  type EnrollResponse,
  PROTOCOL_VERSION,
  UnauthorizedError,
} from '@edgeloop/shared';
import { hashSecret, newSecret, sha256Text } from '../auth/secrets.ts';
import { SERVICE_USERNAME } from '../mqtt/service-identity.ts';
import { normaliseTags } from '../store/device-tags.ts';
import type { DeviceRecord, Store } from '../store/store.ts';

/** Ids a device may not take: the broker's service identity. */
const RESERVED_IDS = new Set([SERVICE_USERNAME]);

export function createEnrollmentToken(store: Store, input: CreateEnrollmentToken, now = new Date()) {
  const token = `elt_${randomBytes(24).toString('base64url')}`;
  const expiresAt = new Date(now.getTime() + input.ttlSeconds * 1000).toISOString();
  store.createEnrollmentToken({
    tokenHash: sha256Text(token),
    group: input.group,
    usesLeft: input.uses,
    expiresAt,
    reenroll: input.reenroll,
  });
  return { protocol: PROTOCOL_VERSION, token, expiresAt, uses: input.uses };
}

export async function enrollDevice(
  store: Store,
  request: EnrollRequest,
  mqttUrl: string,
  now = new Date(),
  /** Runs the slow hash (the control plane's bounded hashing queue). */
  hashWith: (work: () => Promise<string>) => Promise<string> = (work) => work(),
): Promise<{ response: EnrollResponse; device: DeviceRecord }> {
  if (request.deviceId && RESERVED_IDS.has(request.deviceId)) {
    throw new ConflictError(`device id '${request.deviceId}' is reserved`);
  }
  const tokenHash = sha256Text(request.token);
  // A wrong token costs a sha256 and a lookup, never a scrypt (the transaction checks it again).
  if (!store.enrollmentTokenUsable(tokenHash, now)) {
    throw new UnauthorizedError('enrollment token is unknown, expired or used up');
  }
  const secret = newSecret();
  const secretHash = await hashWith(() => hashSecret(secret));
  const fields = {
    name: request.name ?? null,
    hardware: request.hardware ?? null,
    secretHash,
    tags: normaliseTags(request.tags ?? []),
  };

  let device: DeviceRecord;
  if (request.deviceId) {
    device = store.enrollDevice(tokenHash, { deviceId: request.deviceId, ...fields }, now);
  } else {
    // 32 random bits: retry the rare collision rather than report it to the device.
    for (let attempt = 0; ; attempt++) {
      try {
        device = store.enrollDevice(
          tokenHash,
          { deviceId: `dev-${randomBytes(4).toString('hex')}`, ...fields },
          now,
        );
        break;
      } catch (err) {
        if (!(err instanceof ConflictError) || attempt >= 4) throw err;
      }
    }
  }
  return {
    response: { protocol: PROTOCOL_VERSION, deviceId: device.deviceId, secret, mqttUrl },
    device,
  };
}
