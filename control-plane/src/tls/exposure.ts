/**
 * Secure by default: without TLS, device secrets, the admin token and dashboard passwords cross
 * the network in the clear. Binding a non-loopback address without TLS is therefore refused
 * unless config says `insecure: true` (or `--insecure`); loopback (the demo) needs nothing.
 */
import { isIP } from 'node:net';
import { ConfigError, type ControlPlaneConfig } from '@edgeloop/shared';

export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/** The plaintext listeners that would be reachable from the network (empty when none). */
export function exposedPlaintext(config: ControlPlaneConfig): string[] {
  if (config.tls) return [];
  const exposed: string[] = [];
  if (!isLoopback(config.http.host)) exposed.push(`HTTP on ${config.http.host}:${config.http.port}`);
  if (config.mqtt.externalUrl === undefined && !isLoopback(config.mqtt.host)) {
    exposed.push(`MQTT on ${config.mqtt.host}:${config.mqtt.port}`);
  }
  return exposed;
}

/** Throws unless the configuration is safe or explicitly `insecure`; returns what is exposed. */
export function checkExposure(config: ControlPlaneConfig): string[] {
  const exposed = exposedPlaintext(config);
  if (exposed.length > 0 && !config.insecure) {
    throw new ConfigError(
      `refusing plaintext ${exposed.join(' and ')}: device secrets, the admin token and passwords would cross the network unencrypted. ` +
        'Configure tls (certFile/keyFile, or selfSigned: {names, addresses}), bind 127.0.0.1, or set insecure: true (--insecure) on a network you trust.',
    );
  }
  return exposed;
}
