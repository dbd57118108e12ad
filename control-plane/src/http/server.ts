/** Serves the Hono app over node:http: the only importer of @hono/node-server. */
import type { AddressInfo } from 'node:net';
import { EdgeloopError } from '@edgeloop/shared';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';

export interface HttpServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

// biome-ignore lint/suspicious/noExplicitAny: any Hono app, whatever its env and schema
export function startHttpServer(app: Hono<any, any, any>, host: string, port: number): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    const failed = (err: Error) =>
      reject(
        new EdgeloopError('INTERNAL', `HTTP server cannot listen on ${host}:${port}: ${err.message}`, {
          cause: err,
        }),
      );
    const server = serve({ fetch: app.fetch, hostname: host, port }, (info: AddressInfo) => {
      server.off('error', failed);
      const hostPart = host.includes(':') ? `[${host}]` : host;
      resolve({
        url: `http://${hostPart}:${info.port}`,
        port: info.port,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((err) => (err ? fail(err) : done()));
            // Idle keep-alive sockets would hold close() open; in-flight requests still finish.
            if ('closeIdleConnections' in server) server.closeIdleConnections();
          }),
      });
    });
    server.once('error', failed);
  });
}
