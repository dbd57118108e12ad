/**
 * How the agent trusts the control plane. In order: `tls.caFile`; the CA kept in
 * dataDir/server-ca.pem (handed over at enrollment or found by fingerprint); with
 * `tls.caFingerprint`, the CA in the server's own chain whose sha256 matches (fetched once, then
 * kept); else the system's CAs. Plaintext to a host other than loopback is refused unless the
 * config says `insecure: true`.
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import {
  type AgentConfig,
  ConfigError,
  certificateFingerprint,
  type Logger,
  NetworkError,
  readTextIfExists,
  writeFileAtomic,
} from '@edgeloop/shared';

const PLAINTEXT = new Set(['http:', 'mqtt:', 'ws:', 'tcp:']);

export function serverCaPath(dataDir: string): string {
  return join(dataDir, 'server-ca.pem');
}

export function deviceKeyPath(dataDir: string): string {
  return join(dataDir, 'device-key.pem');
}

export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return bare === 'localhost' || bare === '::1' || (isIP(bare) === 4 && bare.startsWith('127.'));
}

/** Throws CONFIG_INVALID for a plaintext URL to a non-loopback host unless `insecure` is set. */
export function checkPlaintext(url: string, what: string, config: Pick<AgentConfig, 'insecure'>): void {
  const parsed = new URL(url);
  if (!PLAINTEXT.has(parsed.protocol) || isLoopback(parsed.hostname) || config.insecure) return;
  throw new ConfigError(
    `${what} ${url} is plaintext to another host: the device secret would cross the network in the clear. ` +
      `Use ${parsed.protocol === 'http:' ? 'https://' : 'mqtts://'} (with tls.caFile or tls.caFingerprint), or set insecure: true on a network you trust.`,
  );
}

export function normaliseFingerprint(fingerprint: string): string {
  return fingerprint.replaceAll(':', '').toLowerCase();
}

function pemOf(raw: Buffer): string {
  const lines = raw.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/**
 * The certificate with this fingerprint from the chain the server presents. The chain itself is
 * not trusted here; the pin is. Every later connection verifies the server against this CA.
 */
export function fetchPinnedCa(url: string, fingerprint: string, timeoutMs = 10_000): Promise<string> {
  const target = new URL(url);
  const pin = normaliseFingerprint(fingerprint);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: target.hostname.replace(/^\[|\]$/g, ''),
      port: Number(target.port || 443),
      servername: isIP(target.hostname) ? undefined : target.hostname,
      rejectUnauthorized: false,
    });
    const fail = (err: Error) => {
      socket.destroy();
      reject(new NetworkError(`fetching the CA from ${target.host}: ${err.message}`, err));
    };
    socket.setTimeout(timeoutMs, () => fail(new Error('timed out')));
    socket.once('error', fail);
    socket.once('secureConnect', () => {
      let cert: PeerCertificate | undefined = socket.getPeerCertificate(true);
      const seen = new Set<string>();
      while (cert?.raw && !seen.has(cert.fingerprint256)) {
        seen.add(cert.fingerprint256);
        if (normaliseFingerprint(cert.fingerprint256) === pin) {
          socket.destroy();
          resolve(pemOf(cert.raw));
          return;
        }
        cert = (cert as { issuerCertificate?: PeerCertificate }).issuerCertificate;
      }
      socket.destroy();
      reject(new ConfigError(`no certificate with sha256 ${pin} in the chain ${target.host} presents`));
    });
  });
}

/** The CA to trust for the control plane (PEM), or null for the system's CAs. */
export async function resolveServerCa(config: AgentConfig, logger: Logger): Promise<string | null> {
  if (config.tls.caFile) {
    const pem = await readTextIfExists(config.tls.caFile);
    if (pem === null) throw new ConfigError(`tls.caFile ${config.tls.caFile} does not exist`);
    return pem;
  }
  const kept = await readTextIfExists(serverCaPath(config.dataDir));
  if (kept !== null) {
    if (
      config.tls.caFingerprint &&
      certificateFingerprint(kept) !== normaliseFingerprint(config.tls.caFingerprint)
    ) {
      throw new ConfigError(
        `${serverCaPath(config.dataDir)} does not match tls.caFingerprint; delete it to fetch again`,
      );
    }
    return kept;
  }
  if (config.tls.caFingerprint && new URL(config.controlPlaneUrl).protocol === 'https:') {
    const pem = await fetchPinnedCa(config.controlPlaneUrl, config.tls.caFingerprint);
    new X509Certificate(pem); // throws on garbage before it is kept
    await keepServerCa(config.dataDir, pem);
    logger.info({ fingerprint: certificateFingerprint(pem) }, 'pinned the control plane CA');
    return pem;
  }
  return null;
}

export async function keepServerCa(dataDir: string, pem: string): Promise<void> {
  await writeFileAtomic(serverCaPath(dataDir), pem, { mode: 0o600 });
}

/** The CA kept at enrollment (or found by fingerprint), if any. */
export function readServerCa(dataDir: string): Promise<string | null> {
  return readTextIfExists(serverCaPath(dataDir));
}

export function readDeviceKey(dataDir: string): Promise<string | null> {
  return readTextIfExists(deviceKeyPath(dataDir));
}
