/**
 * A small read-only HTTP endpoint on the device (node:http, loopback unless configured otherwise),
 * for whoever stands next to the camera: is it healthy, which model, what does it see.
 *
 *   GET /health       { ok, deviceId, modelVersion, mqttConnected, health }
 *   GET /model        { modelVersion, name, labels, input } or 404 before a model is installed
 *   GET /prediction   the last Prediction (of any camera; ?camera=ID for one), or 404
 *   GET /frame.jpg    the newest frame of the first camera (?camera=ID for another) as JPEG, or 404
 *   GET /metrics      Prometheus text format (fps, latency histogram, drops, restarts, queue, model)
 *
 * No write routes, so no credentials are needed; binding beyond loopback is the operator's choice
 * (a site's Prometheus scraping devices needs it: docs/guides/monitoring.md).
 */
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type DeviceHealth,
  EdgeloopError,
  type Logger,
  type Manifest,
  type Prediction,
} from '@edgeloop/shared';
import type { Frame } from '../camera/camera.ts';

export interface LocalEndpointSource {
  deviceId: string;
  manifest(): Manifest | null;
  lastPrediction(cameraId?: string): Prediction | null;
  latestFrame(cameraId?: string): Frame | null;
  /** The frame as JPEG (frames from a folder may be PNG). */
  toJpeg(frame: Frame): Promise<Buffer>;
  health(): DeviceHealth;
  mqttConnected(): boolean;
  /** Prometheus exposition; /metrics answers 404 without it. */
  metrics?(): Promise<{ contentType: string; body: string }>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function notFound(res: ServerResponse, message: string): void {
  json(res, 404, { error: { code: 'NOT_FOUND', message } });
}

export class LocalEndpoint {
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(
    source: LocalEndpointSource,
    options: { host: string; port: number; logger: Logger },
  ): Promise<LocalEndpoint> {
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://local');
      const path = url.pathname;
      const cameraId = url.searchParams.get('camera') ?? undefined;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        json(res, 405, { error: { code: 'VALIDATION_FAILED', message: 'read-only endpoint: use GET' } });
        return;
      }
      const route = async () => {
        switch (path) {
          case '/health': {
            const manifest = source.manifest();
            return json(res, 200, {
              ok: true,
              deviceId: source.deviceId,
              modelVersion: manifest?.modelVersion ?? null,
              mqttConnected: source.mqttConnected(),
              health: source.health(),
            });
          }
          case '/model': {
            const m = source.manifest();
            if (!m) return notFound(res, 'no model installed yet');
            return json(res, 200, {
              modelVersion: m.modelVersion,
              name: m.name,
              labels: m.labels,
              input: m.input,
            });
          }
          case '/prediction': {
            const p = source.lastPrediction(cameraId);
            return p ? json(res, 200, p) : notFound(res, 'no prediction yet');
          }
          case '/frame.jpg': {
            const frame = source.latestFrame(cameraId);
            if (!frame) return notFound(res, 'no frame yet');
            const jpeg = await source.toJpeg(frame);
            res.writeHead(200, { 'content-type': 'image/jpeg', 'cache-control': 'no-store' });
            return res.end(jpeg);
          }
          case '/metrics': {
            if (!source.metrics) return notFound(res, 'no metrics');
            const { contentType, body } = await source.metrics();
            res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
            return res.end(body);
          }
          default:
            return notFound(res, `no route ${path}`);
        }
      };
      route().catch((err) => {
        options.logger.warn({ err, path }, 'local endpoint request failed');
        if (!res.headersSent) json(res, 500, { error: { code: 'INTERNAL', message: 'request failed' } });
        else res.destroy();
      });
    });
    server.listen(options.port, options.host);
    try {
      await once(server, 'listening');
    } catch (err) {
      // Typically EADDRINUSE: another agent (or program) holds the port. The agent then fails to start.
      throw new EdgeloopError(
        'INTERNAL',
        `local endpoint cannot listen on ${options.host}:${options.port}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const { port } = server.address() as AddressInfo;
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    options.logger.info({ url: `http://${host}:${port}` }, 'local endpoint listening');
    return new LocalEndpoint(server, `http://${host}:${port}`);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
