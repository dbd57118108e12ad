/**
 * A round-robin TCP load balancer on loopback, as a site would put in front of control-plane
 * replicas: each connection goes to the next backend, and to the one after when a backend refuses
 * it (a dead replica), so clients keep working while one replica is down.
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface TcpBalancer {
  url: string;
  close(): Promise<void>;
}

export async function startTcpBalancer(
  backends: readonly { host: string; port: number }[],
): Promise<TcpBalancer> {
  const sockets = new Set<Socket>();
  let next = 0;
  const server = createServer((client) => {
    sockets.add(client);
    client.pause();
    const tryBackend = (attempt: number) => {
      if (attempt >= backends.length) {
        client.destroy();
        return;
      }
      const backend = backends[next++ % backends.length];
      const upstream = createConnection(backend);
      upstream.once('error', () => {
        upstream.destroy();
        tryBackend(attempt + 1);
      });
      upstream.once('connect', () => {
        upstream.removeAllListeners('error');
        sockets.add(upstream);
        client.pipe(upstream).pipe(client);
        client.resume();
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
      });
    };
    tryBackend(0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
