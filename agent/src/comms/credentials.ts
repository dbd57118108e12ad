/**
 * Device credentials: enrolled once with the configured token, then kept in dataDir/credentials.json
 * (mode 0600, written atomically) and reused on every start.
 *
 * With `tls.clientCertificate` the agent makes its key pair here, sends only a CSR, and keeps the
 * key in dataDir/device-key.pem (0600); the credentials then hold the issued certificate and no
 * secret. The CA the control plane hands over is kept to pin (dataDir/server-ca.pem) unless the
 * agent already trusts one, and must match `tls.caFingerprint` when that is set.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { arch, platform } from 'node:os';
import { join } from 'node:path';
import {
  type AgentConfig,
  ApiHttpError,
  ConfigError,
  createDeviceCsr,
  type Logger,
  PROTOCOL_VERSION,
  parseJsonWith,
  type StoredCredentials,
  StoredCredentialsSchema,
  writeFileAtomic,
} from '@edgeloop/shared';
import type { ControlPlaneClient } from './control-plane-client.ts';
import { deviceKeyPath, keepServerCa, normaliseFingerprint } from './tls-trust.ts';

export function credentialsPath(dataDir: string): string {
  return join(dataDir, 'credentials.json');
}

async function readStored(path: string): Promise<StoredCredentials | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    return parseJsonWith(StoredCredentialsSchema, text, `credentials file ${path}`);
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}; delete it and enroll again with an enrollment token`);
  }
}

export async function loadOrEnroll(
  config: AgentConfig,
  client: ControlPlaneClient,
  logger: Logger,
  trust: { serverCa: string | null } = { serverCa: null },
): Promise<StoredCredentials> {
  const path = credentialsPath(config.dataDir);
  const stored = await readStored(path);
  if (stored) {
    if (config.deviceId && config.deviceId !== stored.deviceId) {
      logger.warn(
        { configured: config.deviceId, stored: stored.deviceId },
        'configured deviceId ignored: already enrolled',
      );
    }
    logger.debug({ deviceId: stored.deviceId }, 'using stored credentials');
    return stored;
  }
  if (!config.enrollmentToken) {
    throw new ConfigError(
      `not enrolled: ${path} does not exist and no enrollmentToken is configured ` +
        '(pass --enrollment-token or set EDGELOOP_AGENT_ENROLLMENT_TOKEN)',
    );
  }
  const keys = config.tls.clientCertificate ? await createDeviceCsr(config.deviceId ?? 'device') : null;
  const response = await client.enroll({
    protocol: PROTOCOL_VERSION,
    token: config.enrollmentToken,
    deviceId: config.deviceId,
    name: config.name,
    tags: config.tags,
    hardware: `${platform()}-${arch()}`,
    csr: keys?.csrPem,
  });
  if (keys) {
    if (!response.certificate) throw new ConfigError('the control plane issued no certificate for the CSR');
    await writeFileAtomic(deviceKeyPath(config.dataDir), keys.keyPem, { mode: 0o600 });
  }
  if (response.serverCa && trust.serverCa === null) {
    const pin = config.tls.caFingerprint;
    if (pin && normaliseFingerprint(pin) !== response.serverCa.fingerprint) {
      throw new ConfigError(`the CA handed over at enrollment does not match tls.caFingerprint ${pin}`);
    }
    await keepServerCa(config.dataDir, response.serverCa.pem);
  }
  const credentials: StoredCredentials = {
    ...response,
    controlPlaneUrl: config.controlPlaneUrl,
    enrolledAt: new Date().toISOString(),
  };
  await writeFileAtomic(path, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  logger.info({ deviceId: credentials.deviceId }, 'enrolled');
  return credentials;
}

const DAY_MS = 86_400_000;

async function save(path: string, credentials: StoredCredentials): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
}

/**
 * Secret rotation, at start, once the secret is `secretRotationDays` old (password devices only).
 * The agent makes the new secret and writes it to disk as `nextSecret` before asking, so an answer
 * lost on the way never locks it out: next start it asks again with the old secret, and if that
 * is refused the new one had landed.
 */
export async function rotateSecretIfDue(
  config: AgentConfig,
  stored: StoredCredentials,
  clientFor: (credentials: StoredCredentials) => ControlPlaneClient,
  logger: Logger,
  now = new Date(),
): Promise<StoredCredentials> {
  if (!stored.secret) return stored;
  const since = Date.parse(stored.rotatedAt ?? stored.enrolledAt);
  const due = config.secretRotationDays > 0 && now.getTime() - since >= config.secretRotationDays * DAY_MS;
  if (!due && !stored.nextSecret) return stored;
  const path = credentialsPath(config.dataDir);
  const next = stored.nextSecret ?? randomBytes(32).toString('base64url');
  if (!stored.nextSecret) await save(path, { ...stored, nextSecret: next });
  try {
    await clientFor(stored).rotateSecret(next);
  } catch (err) {
    // The old secret refused: the new one landed before (its answer was lost). Otherwise keep the
    // old one and try again next start; the agent runs on meanwhile.
    if (!(err instanceof ApiHttpError && err.httpStatus === 401)) {
      logger.warn({ err }, 'secret rotation failed; trying again at the next start');
      return stored;
    }
  }
  const rotated: StoredCredentials = {
    ...stored,
    secret: next,
    nextSecret: undefined,
    rotatedAt: now.toISOString(),
  };
  await save(path, rotated);
  logger.info({ deviceId: stored.deviceId }, 'device secret rotated');
  return rotated;
}
