/**
 * The device a TLS peer's client certificate names. The handshake has already checked it chains
 * to the control plane's CA (`authorized`); the caller still checks it is the certificate on
 * record for that device (revocation, re-enrollment), by its sha256 fingerprint.
 */
import type { TLSSocket } from 'node:tls';

export interface PeerDevice {
  deviceId: string;
  fingerprint: string;
}

export function peerDevice(socket: unknown): PeerDevice | null {
  const tls = socket as Partial<TLSSocket> | null | undefined;
  if (!tls?.authorized || typeof tls.getPeerCertificate !== 'function') return null;
  const cert = tls.getPeerCertificate();
  const cn = cert?.subject?.CN;
  if (typeof cn !== 'string' || !cert.fingerprint256) return null;
  return { deviceId: cn, fingerprint: cert.fingerprint256.replaceAll(':', '').toLowerCase() };
}
