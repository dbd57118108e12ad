/**
 * A network namespace joined to the host by a veth pair on a private /30, for tests that cut a
 * device's link (`ip link set … down`) the way a pulled cable or a dead Wi-Fi does: packets vanish,
 * nobody sends a reset. Needs root and iproute2 (CI has both). Names and the subnet are random, so
 * tests running at the same time do not collide; `remove` deletes both ends even after a failure.
 *
 * Without root (a developer's machine) `EDGELOOP_SKIP_NETNS=1` skips such tests; otherwise a
 * namespace that cannot be made fails the test loudly.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const NETNS_OPT_OUT = process.env.EDGELOOP_SKIP_NETNS === '1';

export interface LinkedNamespace {
  name: string;
  /** Address of the host end: servers the namespace reaches listen here. */
  hostAddress: string;
  /** Address inside the namespace. */
  nsAddress: string;
  /** argv prefix that runs a command inside the namespace. */
  exec(command: string, args: string[]): [string, string[]];
  /** Takes the host end down: every packet between the two sides is lost until `restore`. */
  cut(): Promise<void>;
  restore(): Promise<void>;
  remove(): Promise<void>;
}

async function ip(...args: string[]): Promise<void> {
  try {
    await run('ip', args);
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(
      `ip ${args.join(' ')} failed: ${e.stderr?.trim() || e.message} (network namespace tests need root and iproute2; EDGELOOP_SKIP_NETNS=1 skips them)`,
    );
  }
}

export async function createLinkedNamespace(prefix = 'el'): Promise<LinkedNamespace> {
  const id = randomBytes(3).toString('hex');
  const name = `${prefix}-${id}`;
  // Interface names are at most 15 bytes.
  const hostIf = `${prefix}h${id}`;
  const nsIf = `${prefix}n${id}`;
  // A random /30 in 10.200.0.0/14: .1 the host end, .2 the namespace end.
  const r = randomBytes(3);
  const base = `10.${200 + (r[0] % 4)}.${r[1]}`;
  const last = (r[2] % 64) * 4;
  const hostAddress = `${base}.${last + 1}`;
  const nsAddress = `${base}.${last + 2}`;
  const ns = (...args: string[]) => ip('netns', 'exec', name, 'ip', ...args);
  const remove = async () => {
    // Deleting the namespace deletes its veth end, and with it the pair; the host end goes too in
    // case the namespace was never made.
    await run('ip', ['netns', 'del', name]).catch(() => {});
    await run('ip', ['link', 'del', hostIf]).catch(() => {});
  };
  try {
    await ip('netns', 'add', name);
    await ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    await ip('link', 'set', nsIf, 'netns', name);
    await ip('addr', 'add', `${hostAddress}/30`, 'dev', hostIf);
    await ip('link', 'set', hostIf, 'up');
    await ns('addr', 'add', `${nsAddress}/30`, 'dev', nsIf);
    await ns('link', 'set', nsIf, 'up');
    await ns('link', 'set', 'lo', 'up');
  } catch (err) {
    await remove();
    throw err;
  }
  return {
    name,
    hostAddress,
    nsAddress,
    exec: (command, args) => ['ip', ['netns', 'exec', name, command, ...args]],
    cut: () => ip('link', 'set', hostIf, 'down'),
    restore: () => ip('link', 'set', hostIf, 'up'),
    remove,
  };
}
