/** Serves the Hono app over node:http, or node:https under TLS: the only importer of @hono/node-server. */
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TlsOptions } from 'node:tls';
import { EdgeloopError } from '@edgeloop/shared';
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, Hono } from 'hono';
import type { SecureServer } from '../tls/tls-reloader.ts';

/** How long a stop waits for requests in flight before it closes their connections. */
const CLOSE_GRACE_MS = 5_000;

export interface HttpServer {
  url: string;
  port: number;
  /** The HTTPS server (for certificate reloads); null over plain HTTP. */
  secure: SecureServer | null;
  close(): Promise<void>;
}

export function startHttpServer(
  // biome-ignore lint/suspicious/noExplicitAny: any Hono app, whatever its env and schema
  app: Hono<any, any, any>,
  host: string,
  port: number,
  tls?: TlsOptions,
): Promise<HttpServer> {
  return new Promise((resolve, reject) => {
    const failed = (err: Error) =>
      reject(
        new EdgeloopError('INTERNAL', `HTTP server cannot listen on ${host}:${port}: ${err.message}`, {
          cause: err,
        }),
      );
    const server = serve(
      {
        fetch: app.fetch,
        hostname: host,
        port,
        ...(tls ? { createServer: createHttpsServer, serverOptions: tls } : {}),
      },
      (info: AddressInfo) => {
        server.off('error', failed);
        const hostPart = host.includes(':') ? `[${host}]` : host;
        resolve({
          url: `${tls ? 'https' : 'http'}://${hostPart}:${info.port}`,
          port: info.port,
          secure: tls ? (server as unknown as SecureServer) : null,
          close: () =>
            new Promise<void>((done, fail) => {
              // In-flight requests get a grace period, then every socket is closed: one still
              // open after it (a stream, a client that stopped reading, a socket that went idle
              // after the first sweep) held close() — and the control plane's stop — for good.
              const force = setTimeout(() => {
                if ('closeAllConnections' in server) server.closeAllConnections();
              }, CLOSE_GRACE_MS);
              force.unref();
              server.close((err) => {
                clearTimeout(force);
                if (err) fail(err);
                else done();
              });
              // Idle keep-alive sockets would hold close() open; in-flight requests still finish.
              if ('closeIdleConnections' in server) server.closeIdleConnections();
            }),
        });
      },
    );
    server.once('error', failed);
    // Idle keep-alive sockets outlive a load balancer's idle timeout (60 s on the common ones) and
    // a client's: the server closing a socket just as a client reuses it resets that request.
    if ('keepAliveTimeout' in server) {
      server.keepAliveTimeout = 65_000;
      server.headersTimeout = 66_000;
    }
  });
}

/**
 * The caller's address as the socket sees it (rate limits count by it). Behind a reverse proxy
 * this is the proxy. Requests not served by node:http (app.request in tests) are 'unknown'.
 */
export function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
