/**
 * A real HTTP server on loopback that records what a webhook sender POSTs, and can be told to
 * answer with an error status or never to answer at all (a receiver that hangs).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown>;
  at: number;
}

export interface WebhookReceiver {
  url: string;
  received: Received[];
  /** 'ok' answers 204; a number answers that status; 'hang' never answers. */
  mode: 'ok' | 'hang' | number;
  waitFor(match: (r: Received) => boolean, timeoutMs?: number): Promise<Received>;
  close(): Promise<void>;
}

/** `port` 0 picks a free one; a given port brings a receiver back at the address a sender knows. */
export async function startWebhookReceiver(port = 0): Promise<WebhookReceiver> {
  const hanging: ServerResponse[] = [];
  let waiters: { match: (r: Received) => boolean; resolve: (r: Received) => void }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (receiver.mode === 'hang') {
        hanging.push(res);
        return;
      }
      if (receiver.mode !== 'ok') {
        res.writeHead(receiver.mode).end();
        return;
      }
      const r: Received = { headers: req.headers, body, json: JSON.parse(body), at: performance.now() };
      receiver.received.push(r);
      res.writeHead(204).end();
      waiters = waiters.filter((w) => {
        if (!w.match(r)) return true;
        w.resolve(r);
        return false;
      });
    });
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const bound = (server.address() as AddressInfo).port;
  const receiver: WebhookReceiver = {
    url: `http://127.0.0.1:${bound}/hook`,
    received: [],
    mode: 'ok',
    waitFor(match, timeoutMs = 10_000) {
      const seen = receiver.received.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no matching webhook delivery in time')), timeoutMs);
        waiters.push({
          match,
          resolve: (r) => {
            clearTimeout(timer);
            resolve(r);
          },
        });
      });
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return receiver;
}

/** What a receiver does: recompute HMAC-SHA256 over "<t>.<body>" and compare in constant time. */
export function verifySignature(secret: string, header: string | undefined, body: string): boolean {
  const parts = Object.fromEntries((header ?? '').split(',').map((p) => p.split('=', 2) as [string, string]));
  if (!parts.t || !parts.v1) return false;
  const expected = createHmac('sha256', secret).update(`${parts.t}.${body}`).digest();
  const given = Buffer.from(parts.v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
