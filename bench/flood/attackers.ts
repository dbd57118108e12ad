/**
 * The attackers of `edgeloop bench flood`, in a process of their own so their work does not
 * delay the bench's own health probes: `node --import tsx attackers.ts SPEC_JSON`. Attacker i
 * comes from its own loopback address (127.0.1.i, so every one has its own rate budget, like a
 * botnet) and, until the deadline, loops on one of: enrollment with a wrong token, dashboard
 * sign-in with a wrong password, MQTT CONNECT with a wrong secret. Prints one JSON line of counts.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { apiRoutes, routeUrl } from '@edgeloop/shared';

export interface AttackSpec {
  httpUrl: string;
  mqttUrl: string;
  attackers: number;
  durationS: number;
  /** A real dashboard user, so wrong passwords for it reach the password hash. */
  userName: string;
}

export interface AttackCounts {
  attempts: number;
  refused429: number;
  unauthorized401: number;
  connackRefused: number;
  connackBadCredentials: number;
  /** Anything else: an HTTP status, a socket error code (`timeout`: none in 10 s) or `connack-N` (-1: none). */
  otherOutcomes: Record<string, number>;
}

function post(spec: AttackSpec, path: string, body: object, localAddress: string): Promise<number | string> {
  const url = new URL(path, spec.httpUrl);
  const data = JSON.stringify(body);
  return new Promise((resolve) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        localAddress,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
        timeout: 10_000,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
    req.end(data);
  });
}

function str(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
}

/** One MQTT 3.1.1 CONNECT with username + password; resolves with the CONNACK code (-1: none). */
function mqttConnect(
  spec: AttackSpec,
  username: string,
  password: string,
  localAddress: string,
): Promise<number> {
  const url = new URL(spec.mqttUrl);
  const body = Buffer.concat([
    str('MQTT'),
    Buffer.from([4, 0xc2, 0, 30]),
    str(`dev-${username}`),
    str(username),
    str(password),
  ]);
  const packet = Buffer.concat([Buffer.from([0x10, body.length]), body]);
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port: Number(url.port), localAddress });
    let code = -1;
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('connect', () => socket.write(packet));
    socket.on('data', (data) => {
      if (data[0] === 0x20) code = data[3] ?? -1;
      socket.destroy();
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(code));
  });
}

export async function attack(spec: AttackSpec): Promise<AttackCounts> {
  const counts: AttackCounts = {
    attempts: 0,
    refused429: 0,
    unauthorized401: 0,
    connackRefused: 0,
    connackBadCredentials: 0,
    otherOutcomes: {},
  };
  const other = (what: string) => {
    counts.otherOutcomes[what] = (counts.otherOutcomes[what] ?? 0) + 1;
  };
  const deadline = Date.now() + spec.durationS * 1000;
  const one = async (i: number, n: number) => {
    const from = `127.0.1.${(i % 250) + 1}`;
    counts.attempts++;
    if (i % 3 === 2) {
      const code = await mqttConnect(spec, `dev-attack${i}-${n % 7}`, `guess-${n}`, from);
      if (code === 3) counts.connackRefused++;
      else if (code === 4) counts.connackBadCredentials++;
      else other(`connack-${code}`);
      return;
    }
    const status =
      i % 3 === 0
        ? await post(
            spec,
            routeUrl(apiRoutes.enrollDevice),
            { protocol: 1, token: `elt_wrong-${i}-${n}-xxxxxxxx` },
            from,
          )
        : await post(
            spec,
            '/ui/sign-in',
            { name: n % 2 ? spec.userName : `user${i}`, password: `guess-${n}` },
            from,
          );
    if (status === 429) counts.refused429++;
    else if (status === 401) counts.unauthorized401++;
    else other(String(status));
  };
  await Promise.all(
    Array.from({ length: spec.attackers }, async (_, i) => {
      for (let n = 0; Date.now() < deadline; n++) await one(i, n);
    }),
  );
  return counts;
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as AttackSpec;
  const counts = await attack(spec);
  process.stdout.write(`${JSON.stringify(counts)}\n`);
}
