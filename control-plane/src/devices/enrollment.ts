/**
 * Enrollment: an admin mints a token (kept only as a sha256), a device trades it for an id and a
 * secret (kept only as a salted HMAC: auth/secrets.ts). Spending the token and creating the device are one
 * transaction, so a refused enrollment changes nothing.
 *
 * Under TLS a device may send a CSR instead of taking a secret: the control plane's CA issues it a
 * client certificate naming it (its key never leaves the device) and the device gets no secret.
 * The response also hands over the CA that signed the server certificate, for the device to pin.
 */
import { randomBytes } from 'node:crypto';
import {
  ConfigError,
  ConflictError,
  type CreateEnrollmentToken,
  certificateFingerprint,
  checkCsr,
  type EnrollRequest,
  type EnrollResponse,
  type KeyAndCert,
  PROTOCOL_VERSION,
  signDeviceCsr,
  UnauthorizedError,
} from '@edgeloop/shared';
import { hashDeviceSecret, newSecret, sha256Text } from '../auth/secrets.ts';
import { SERVICE_USERNAME } from '../mqtt/service-identity.ts';
import { normaliseTags } from '../store/device-tags.ts';
import type { DeviceRecord, Store } from '../store/store.ts';

/** Ids a device may not take: the broker's service identity. */
const RESERVED_IDS = new Set([SERVICE_USERNAME]);

export async function createEnrollmentToken(store: Store, input: CreateEnrollmentToken, now = new Date()) {
  const token = `elt_${randomBytes(24).toString('base64url')}`;
  const expiresAt = new Date(now.getTime() + input.ttlSeconds * 1000).toISOString();
  await store.devices.createEnrollmentToken({
    tokenHash: sha256Text(token),
    group: input.group,
    usesLeft: input.uses,
    expiresAt,
    reenroll: input.reenroll,
  });
  return { protocol: PROTOCOL_VERSION, token, expiresAt, uses: input.uses };
}

/** Marks a device that authenticates by certificate only: no secret verifies against it. */
export const CERTIFICATE_ONLY_HASH = 'certificate-only';

export interface EnrollmentTls {
  deviceCa: KeyAndCert;
  serverCa: { pem: string; fingerprint: string } | null;
  deviceCertificateDays: number;
}

export async function enrollDevice(
  store: Store,
  request: EnrollRequest,
  mqttUrl: string,
  now = new Date(),
  tls: EnrollmentTls | null = null,
): Promise<{ response: EnrollResponse; device: DeviceRecord }> {
  if (request.deviceId && RESERVED_IDS.has(request.deviceId)) {
    throw new ConflictError(`device id '${request.deviceId}' is reserved`);
  }
  if (request.csr && !tls) {
    throw new ConfigError('this control plane has no TLS configured, so it cannot issue device certificates');
  }
  // Checked before the token is spent: a bad CSR must not use up an enrollment.
  if (request.csr) await checkCsr(request.csr);
  const tokenHash = sha256Text(request.token);
  // A wrong token costs a sha256 and a lookup (the transaction checks it again).
  if (!(await store.devices.enrollmentTokenUsable(tokenHash, now))) {
    throw new UnauthorizedError('enrollment token is unknown, expired or used up');
  }
  const secret = request.csr ? '' : newSecret();
  const secretHash = request.csr ? CERTIFICATE_ONLY_HASH : hashDeviceSecret(secret);
  const fields = {
    name: request.name ?? null,
    hardware: request.hardware ?? null,
    secretHash,
    tags: normaliseTags(request.tags ?? []),
  };

  let device: DeviceRecord;
  if (request.deviceId) {
    device = await store.devices.enroll(tokenHash, { deviceId: request.deviceId, ...fields }, now);
  } else {
    // 32 random bits: retry the rare collision rather than report it to the device.
    for (let attempt = 0; ; attempt++) {
      try {
        device = await store.devices.enroll(
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
  let certificate: string | undefined;
  if (request.csr && tls) {
    // After the token was spent: the certificate names the id the control plane gave the device.
    certificate = await signDeviceCsr(
      tls.deviceCa,
      request.csr,
      device.deviceId,
      tls.deviceCertificateDays,
      now,
    );
  }
  await store.security.setCertificate(
    device.deviceId,
    certificate ? certificateFingerprint(certificate) : null,
  );
  return {
    response: {
      protocol: PROTOCOL_VERSION,
      deviceId: device.deviceId,
      secret,
      mqttUrl,
      ...(certificate ? { certificate } : {}),
      ...(tls?.serverCa ? { serverCa: tls.serverCa } : {}),
    },
    device,
  };
}
