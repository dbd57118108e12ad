/**
 * A loopback port that was free a moment ago (for servers that cannot be told port 0, or that
 * must come back on the same port after a restart).
 *
 * Picked below the kernel's ephemeral range: a port the kernel handed out for listen(0) is also
 * one it may hand out next as the source port of any outgoing connection (to Postgres, a proxy,
 * the broker), and a control plane restarting on it then fails with EADDRINUSE (seen in CI).
 * Random within the range so parallel test workers rarely try the same one; never the same one
 * twice in one worker.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const LOWEST = 10_000;
const given = new Set<number>();

function ephemeralStart(): number {
  try {
    const first = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
    );
    if (Number.isInteger(first) && first > LOWEST + 1000) return first;
  } catch {
    // Not Linux: the IANA dynamic range starts at 49152.
  }
  return 32_768;
}

function bindable(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  const end = ephemeralStart();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (end - LOWEST));
    if (given.has(port)) continue;
    if (await bindable(port)) {
      given.add(port);
      return port;
    }
  }
  throw new Error(`no free loopback port between ${LOWEST} and ${end}`);
}
