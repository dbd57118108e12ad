/** Small real parts for TLS tests: fetch and MQTT over TLS trusting a given CA, peer certificates. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { ApiClient, deviceClientId } from '@edgeloop/shared';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { createTlsFetch } from '../../../agent/src/comms/tls-fetch.ts';

/** fetch that trusts `ca` and optionally presents a client certificate (the agent's own). */
export function fetchTrusting(ca: string, client?: { cert: string; key: string }): typeof fetch {
  return createTlsFetch({ ca, ...client });
}

export function adminClient(url: string, token: string, ca: string): ApiClient {
  return new ApiClient(url, token, 'admin', { fetch: fetchTrusting(ca) });
}

/** Connects as a device over mqtts with no automatic reconnect. */
export function connectDeviceTls(
  url: string,
  device: { deviceId: string; secret?: string },
  options: IClientOptions = {},
): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    clientId: deviceClientId(device.deviceId),
    username: device.deviceId,
    password: device.secret || undefined,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ...options,
  });
}

/** The sha256 fingerprint (hex, no colons) of the certificate a TLS server presents now. */
export function servedFingerprint(url: string, ca: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: hostname, port: Number(port), ca, servername: 'localhost' }, () => {
      const fp = socket.getPeerCertificate().fingerprint256.replaceAll(':', '').toLowerCase();
      socket.destroy();
      resolve(fp);
    });
    socket.once('error', reject);
  });
}

/** The client certificate and key an enrolled certificate agent keeps in its data dir. */
export function agentIdentity(dataDir: string): { cert: string; key: string } {
  const credentials = JSON.parse(readFileSync(join(dataDir, 'credentials.json'), 'utf8')) as {
    certificate: string;
  };
  return { cert: credentials.certificate, key: readFileSync(join(dataDir, 'device-key.pem'), 'utf8') };
}
