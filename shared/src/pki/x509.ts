/**
 * X.509 issuance: the one importer of @peculiar/x509 (and of the reflect-metadata polyfill its
 * dependency injection needs), loaded on first use. Node's crypto verifies and parses certificates but cannot issue
 * them or build a CSR; @peculiar/x509 does both on top of WebCrypto, in pure JS, on the control
 * plane and on devices alike (docs/security.md says why it was chosen).
 *
 * Every key is ECDSA P-256 with SHA-256: small, fast to generate on a Pi, accepted by OpenSSL,
 * mosquitto and browsers.
 */
import { X509Certificate as NodeX509, webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';
import { ValidationError } from '../errors.ts';

let loaded: Promise<typeof X509> | null = null;
/** Loaded on first use: most processes (an agent with a secret) never issue anything. */
function lib(): Promise<typeof X509> {
  loaded ??= import('reflect-metadata').then(() => import('@peculiar/x509'));
  return loaded;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
// Node's WebCrypto; @peculiar/x509 is typed against the DOM's, which this project does not load.
// biome-ignore lint/suspicious/noExplicitAny: the DOM Crypto type is not in scope here
const crypto = webcrypto as any;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type CryptoKey = webcrypto.CryptoKey;

export interface KeyAndCert {
  certPem: string;
  keyPem: string;
}

async function newKeys(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function keyPem(keys: CryptoKeyPair): Promise<string> {
  const x509 = await lib();
  const der = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importKey(pem: string): Promise<CryptoKey> {
  const x509 = await lib();
  return crypto.subtle.importKey('pkcs8', x509.PemConverter.decode(pem)[0], ALG, false, ['sign']);
}

/** A random positive serial (RFC 5280 §4.1.2.2: at most 20 octets, positive). */
function serial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] &= 0x7f;
  return Buffer.from(bytes).toString('hex');
}

function validity(days: number, now: Date) {
  // A minute back: a peer whose clock is slightly behind still accepts a fresh certificate.
  return { notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + days * DAY_MS) };
}

/** A self-signed CA that may sign end-entity certificates only (pathLen 0). */
export async function createCertificateAuthority(commonName: string, days: number, now = new Date()) {
  const x509 = await lib();
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial(),
      name: [{ CN: [commonName] }],
      keys,
      signingAlgorithm: ALG,
      ...validity(days, now),
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { certPem: cert.toString('pem'), keyPem: await keyPem(keys) } satisfies KeyAndCert;
}

async function issue(
  ca: KeyAndCert,
  subject: string,
  publicKey: X509.PublicKeyType,
  extensions: X509.Extension[],
  days: number,
  now: Date,
): Promise<string> {
  const x509 = await lib();
  const caCert = new x509.X509Certificate(ca.certPem);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial(),
      subject: [{ CN: [subject] }],
      issuer: caCert.subject,
      publicKey,
      signingKey: await importKey(ca.keyPem),
      signingAlgorithm: ALG,
      ...validity(days, now),
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        await x509.AuthorityKeyIdentifierExtension.create(caCert, false, crypto),
        ...extensions,
      ],
    },
    crypto,
  );
  return cert.toString('pem');
}

/** A TLS server certificate for these DNS names and IP addresses, signed by `ca`. */
export async function issueServerCertificate(
  ca: KeyAndCert,
  target: { names: readonly string[]; addresses: readonly string[] },
  days: number,
  now = new Date(),
): Promise<KeyAndCert> {
  const x509 = await lib();
  const keys = await newKeys();
  const san = [
    ...target.names.map((value) => ({ type: 'dns' as const, value })),
    ...target.addresses.map((value) => ({ type: 'ip' as const, value })),
  ];
  const certPem = await issue(
    ca,
    target.names[0] ?? target.addresses[0] ?? 'edgeloop',
    keys.publicKey,
    [
      new x509.SubjectAlternativeNameExtension(san, false),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
    ],
    days,
    now,
  );
  return { certPem, keyPem: await keyPem(keys) };
}

/** A device's key pair and a CSR naming it; the key stays with the caller (on the device). */
export async function createDeviceCsr(deviceId: string): Promise<{ csrPem: string; keyPem: string }> {
  const x509 = await lib();
  const keys = await newKeys();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    { name: [{ CN: [deviceId] }], keys, signingAlgorithm: ALG },
    crypto,
  );
  return { csrPem: csr.toString('pem'), keyPem: await keyPem(keys) };
}

/**
 * A client certificate for `deviceId` from a CSR. The CSR must carry a valid self-signature (proof
 * that the requester holds the key); whatever subject it asks for, the certificate names the
 * device the control plane enrolled (CN = device id), never a name the requester chose.
 */
export async function signDeviceCsr(
  ca: KeyAndCert,
  csrPem: string,
  deviceId: string,
  days: number,
  now = new Date(),
): Promise<string> {
  const x509 = await lib();
  const csr = await checkCsr(csrPem);
  return issue(
    ca,
    deviceId,
    csr.publicKey,
    [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false)],
    days,
    now,
  );
}

/** Parses a CSR and checks its self-signature; throws VALIDATION_FAILED otherwise. */
export async function checkCsr(csrPem: string): Promise<X509.Pkcs10CertificateRequest> {
  const x509 = await lib();
  let csr: X509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch {
    throw new ValidationError('csr is not a PEM PKCS #10 certificate request');
  }
  if (!(await csr.verify(crypto))) throw new ValidationError('csr signature does not verify');
  return csr;
}

/** sha256 over the certificate's DER, lowercase hex without colons (what devices pin). */
export function certificateFingerprint(certPem: string): string {
  return new NodeX509(certPem).fingerprint256.replaceAll(':', '').toLowerCase();
}

/** The first certificate of a PEM bundle (a server's chain file starts with its own). */
export function firstCertificate(pem: string): string {
  const match = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (!match) throw new ValidationError('no PEM certificate found');
  return `${match[0]}\n`;
}

/** Days left until the certificate expires (negative once it has). */
export function daysLeft(certPem: string, now = new Date()): number {
  return (Date.parse(new NodeX509(certPem).validTo) - now.getTime()) / DAY_MS;
}
