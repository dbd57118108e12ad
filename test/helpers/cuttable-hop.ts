import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP hop in front of a server (Postgres, an MQTT broker) that can be cut — every connection
 * reset, new ones refused, as while the server restarts or the network is down — and restored;
 * or stalled — connections stay open but nothing more crosses, as behind a dead route.
 * `target` is the server's URL; the hop's URL is the same with its own port.
 */
export async function startCuttableHop(target: string) {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  const pairs = new Set<[Socket, Socket]>();
  let cut = false;
  const server = createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const link = connect({ host: upstream.hostname, port: Number(upstream.port) });
    const pair: [Socket, Socket] = [client, link];
    pairs.add(pair);
    for (const s of pair) {
      sockets.add(s);
      s.on('error', () => {}).on('close', () => {
        sockets.delete(s);
        pairs.delete(pair);
        client.destroy();
        link.destroy();
      });
    }
    client.pipe(link).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.port = String((server.address() as { port: number }).port);
  return {
    url: url.toString(),
    cut() {
      cut = true;
      for (const s of sockets) s.destroy();
    },
    stall() {
      for (const [client, link] of pairs) {
        client.unpipe(link);
        link.unpipe(client);
        client.pause();
        link.pause();
      }
    },
    restore() {
      cut = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
