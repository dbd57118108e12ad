/**
 * A TCP proxy on loopback that slows the server → client direction to `bytesPerSecond`, so a
 * 1 MB model download takes long enough for a test to kill the downloader in the middle of it.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface ThrottleProxy {
  url: string;
  /**
   * Resets every connection towards the clients (TCP RST), as a far end that gave up or lost its
   * state does; over a cut link the reset is lost, and the client is left waiting on a dead one.
   */
  reset(): void;
  close(): Promise<void>;
}

export async function startThrottleProxy(
  target: { host: string; port: number },
  bytesPerSecond: number,
  /** Where the proxy listens (a network namespace test uses the host end of its veth link). */
  listenHost = '127.0.0.1',
): Promise<ThrottleProxy> {
  const sockets = new Set<Socket>();
  const clients = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection(target);
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      upstream.pause();
      client.write(chunk);
      setTimeout(() => upstream.resume(), (chunk.length / bytesPerSecond) * 1000);
    });
    upstream.on('end', () => client.end());
    clients.add(client);
    const drop = () => {
      clients.delete(client);
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, listenHost, resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://${listenHost}:${port}`,
    reset() {
      for (const client of clients) client.resetAndDestroy();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
