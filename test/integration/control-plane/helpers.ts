/** Small real parts for control-plane tests: a control plane in a temp dir, HTTP calls, MQTT clients. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type ControlPlane, startControlPlane } from '@edgeloop/control-plane';
import {
  type ControlPlaneConfigInput,
  ControlPlaneConfigSchema,
  createLogger,
  deviceClientId,
  EnrollResponseSchema,
  type Logger,
} from '@edgeloop/shared';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export function tempDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'edgeloop-cp-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

type LogEntry = Record<string, unknown> & { msg?: string };

/** A pino logger whose entries a test can await. */
export class LogCapture {
  readonly entries: LogEntry[] = [];
  readonly logger: Logger;
  private waiters: { match: (e: LogEntry) => boolean; resolve: (e: LogEntry) => void }[] = [];

  constructor() {
    const sink = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.add(JSON.parse(line));
        done();
      },
    });
    this.logger = createLogger({ level: 'debug', destination: sink });
  }

  private add(entry: LogEntry): void {
    this.entries.push(entry);
    this.waiters = this.waiters.filter((w) => {
      if (!w.match(entry)) return true;
      w.resolve(entry);
      return false;
    });
  }

  waitFor(match: (e: LogEntry) => boolean): Promise<LogEntry> {
    const seen = this.entries.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }
}

export interface TestControlPlane {
  cp: ControlPlane;
  dataDir: string;
  logs: LogCapture;
  api(path: string, init?: RequestInit & { admin?: boolean; device?: Device }): Promise<Response>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface Device {
  deviceId: string;
  secret: string;
  mqttUrl: string;
}

import { startPostgres } from '../../helpers/postgres-cluster.ts';
import { reportIfSlow } from '../../helpers/report-slow.ts';

export type TestControlPlaneOverrides = Partial<ControlPlaneConfigInput>;

export async function startTestControlPlane(
  overrides: TestControlPlaneOverrides = {},
): Promise<TestControlPlane> {
  const dir = tempDir();
  const logs = new LogCapture();
  // EDGELOOP_TEST_STORE=postgres runs the same HTTP tests on a throwaway Postgres cluster.
  const postgres = process.env.EDGELOOP_TEST_STORE === 'postgres' ? await startPostgres() : undefined;
  const config = ControlPlaneConfigSchema.parse({
    dataDir: dir.path,
    http: { host: '127.0.0.1', port: 0 },
    mqtt: { host: '127.0.0.1', port: 0 },
    logLevel: 'debug',
    ...(postgres ? { store: { type: 'postgres', url: postgres.url, poolSize: 4 } } : {}),
    ...overrides,
  });
  const handle: TestControlPlane = {
    cp: await startControlPlane(config, { logger: logs.logger }),
    dataDir: dir.path,
    logs,
    api(path, init = {}) {
      const headers = new Headers(init.headers);
      if (init.admin) headers.set('authorization', `Bearer ${handle.cp.adminToken}`);
      if (init.device) headers.set('authorization', basicAuth(init.device.deviceId, init.device.secret));
      return fetch(`${handle.cp.httpUrl}/api/v1${path}`, { ...init, headers });
    },
    async restart() {
      await handle.cp.close();
      handle.cp = await startControlPlane(config, { logger: logs.logger });
    },
    async stop() {
      // Warnings and errors the control plane logged last ("still stopping" names the step).
      const lastWarnings = () => logs.entries.filter((e) => Number(e.level) >= 40).slice(-15);
      await reportIfSlow('control plane stop', handle.cp.close(), lastWarnings);
      await postgres?.stop();
      dir.remove();
    },
  };
  return handle;
}

export function basicAuth(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

export function jsonBody(body: unknown): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

export async function createToken(
  t: TestControlPlane,
  options: { uses?: number; group?: string; reenroll?: boolean } = {},
): Promise<string> {
  const res = await t.api('/enrollment-tokens', { ...jsonBody({ protocol: 1, ...options }), admin: true });
  if (res.status !== 201) throw new Error(`token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

export async function enroll(t: TestControlPlane, deviceId?: string): Promise<Device> {
  const token = await createToken(t);
  const res = await t.api('/devices/enroll', jsonBody({ protocol: 1, token, deviceId }));
  if (res.status !== 201) throw new Error(`enroll: ${res.status} ${await res.text()}`);
  return EnrollResponseSchema.parse(await res.json());
}

/** Connects as a device (its fixed client id, as the agent does) with no automatic reconnect. */
export function connectDevice(
  url: string,
  device: { deviceId: string; secret: string },
  options: IClientOptions = {},
): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    clientId: deviceClientId(device.deviceId),
    username: device.deviceId,
    password: device.secret,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ...options,
  });
}

/** Resolves with the next message on `topic` (including a retained one delivered on subscribe). */
export function nextMessage(
  client: MqttClient,
  topic: string,
): Promise<{ payload: Buffer; retain: boolean }> {
  return new Promise((resolve) => {
    const onMessage = (t: string, payload: Buffer, packet: { retain: boolean }) => {
      if (t !== topic) return;
      client.off('message', onMessage);
      resolve({ payload, retain: packet.retain });
    };
    client.on('message', onMessage);
  });
}

export function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.once('close', () => resolve()));
}
