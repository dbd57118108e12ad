/**
 * The control plane's TLS material, from config.tls: the certificate chain and key both listeners
 * serve, the CA devices pin, and the control plane's own CA that issues device client
 * certificates and verifies them (mTLS).
 *
 * The own CA lives in dataDir/tls (ca.pem, ca-key.pem) and is made on first start; with
 * `selfSigned` it also signs the server certificate (server.pem, server-key.pem), reissued when it
 * has under 30 days left or no longer names the configured names and addresses. Keys are 0600 and
 * written atomically (a crash leaves the old file or the new one).
 */
import { X509Certificate } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import {
  ConfigError,
  certificateFingerprint,
  createCertificateAuthority,
  daysLeft,
  issueServerCertificate,
  type KeyAndCert,
  readTextIfExists,
  type TlsConfig,
  writeFileAtomic,
} from '@edgeloop/shared';

const CA_DAYS = 3650;
const SERVER_DAYS = 825;
const RENEW_DAYS = 30;

export interface TlsMaterial {
  /** What the listeners serve: the server certificate (its chain up to the CA) and key. */
  certPem: string;
  keyPem: string;
  /** The CA devices pin (null: the server certificate chains to a CA devices already trust). */
  serverCa: { pem: string; fingerprint: string } | null;
  /** The control plane's own CA: issues and verifies device client certificates. */
  deviceCa: KeyAndCert;
  /** Files whose change means "reload" (certFile/keyFile); empty for self-signed material. */
  watched: string[];
  /** Re-reads the configured files (after a change). */
  reload(): Promise<TlsMaterial>;
}

export function tlsDir(dataDir: string): string {
  return join(dataDir, 'tls');
}

async function loadOrCreatePair(
  certFile: string,
  keyFile: string,
  create: () => Promise<KeyAndCert>,
  stillGood: (certPem: string) => boolean,
): Promise<KeyAndCert> {
  const [certPem, keyPem] = await Promise.all([readTextIfExists(certFile), readTextIfExists(keyFile)]);
  if (certPem && keyPem && stillGood(certPem)) return { certPem, keyPem };
  const made = await create();
  // Key first: a crash between the two writes leaves a key without its certificate, which the
  // next start replaces, never a certificate whose key is lost.
  await writeFileAtomic(keyFile, made.keyPem, { mode: 0o600 });
  await writeFileAtomic(certFile, made.certPem, { mode: 0o644 });
  return made;
}

function names(certPem: string): Set<string> {
  const san = new X509Certificate(certPem).subjectAltName ?? '';
  return new Set(
    san
      .split(', ')
      .map((entry) => entry.replace(/^(DNS|IP Address):/, ''))
      .filter(Boolean),
  );
}

export async function loadTlsMaterial(config: TlsConfig, dataDir: string): Promise<TlsMaterial> {
  const dir = tlsDir(dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const deviceCa = await loadOrCreatePair(
    join(dir, 'ca.pem'),
    join(dir, 'ca-key.pem'),
    () => createCertificateAuthority('edgeloop control plane CA', CA_DAYS),
    (pem) => daysLeft(pem) > RENEW_DAYS,
  );
  const fingerprintOf = (pem: string) => ({ pem, fingerprint: certificateFingerprint(pem) });

  if (config.selfSigned) {
    const wanted = [...config.selfSigned.names, ...config.selfSigned.addresses];
    for (const address of config.selfSigned.addresses) {
      if (isIP(address) === 0) throw new ConfigError(`tls.selfSigned.addresses: '${address}' is not an IP`);
    }
    const server = await loadOrCreatePair(
      join(dir, 'server.pem'),
      join(dir, 'server-key.pem'),
      () => issueServerCertificate(deviceCa, config.selfSigned ?? { names: [], addresses: [] }, SERVER_DAYS),
      (pem) => {
        const has = names(pem);
        return daysLeft(pem) > RENEW_DAYS && wanted.every((n) => has.has(n));
      },
    );
    const material: TlsMaterial = {
      // The chain carries the CA, so a device that pins only its fingerprint can find and keep it.
      certPem: `${server.certPem.trim()}\n${deviceCa.certPem.trim()}\n`,
      keyPem: server.keyPem,
      serverCa: fingerprintOf(deviceCa.certPem),
      deviceCa,
      watched: [],
      reload: () => Promise.resolve(material),
    };
    return material;
  }

  const { certFile, keyFile, caFile } = config;
  if (!certFile || !keyFile) {
    throw new ConfigError('tls needs certFile and keyFile, or selfSigned: {names, addresses}');
  }
  const read = async (file: string, what: string) => {
    const text = await readTextIfExists(file);
    if (text === null) throw new ConfigError(`tls.${what} ${file} does not exist`);
    return text;
  };
  const load = async (): Promise<TlsMaterial> => {
    const [certPem, keyPem, caPem] = await Promise.all([
      read(certFile, 'certFile'),
      read(keyFile, 'keyFile'),
      caFile ? read(caFile, 'caFile') : null,
    ]);
    return {
      certPem,
      keyPem,
      serverCa: caPem ? fingerprintOf(caPem) : null,
      deviceCa,
      watched: [certFile, keyFile, ...(caFile ? [caFile] : [])],
      reload: load,
    };
  };
  return load();
}
