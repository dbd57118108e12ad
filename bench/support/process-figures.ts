/**
 * What the process-level benchmarks (rollout, fleet) share: bounded concurrency, waiting for a
 * condition, and a process's CPU time and peak memory from /proc (Linux).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** CPU seconds (user + system) of a process so far, from /proc; null when it is gone. */
export function cpuSeconds(pid: number | undefined): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** A process and its children (Postgres: the postmaster and its backends), from /proc. */
export function processTree(pid: number): number[] {
  const children: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      if (ppid === pid) children.push(Number(name));
    } catch {
      // Gone between the listing and the read.
    }
  }
  return [pid, ...children];
}

/**
 * CPU seconds of a process tree so far: the root's own, its reaped children's (cutime, cstime:
 * Postgres backends that already exited) and its live children's.
 */
export function treeCpuSeconds(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const reaped = (Number(fields[13]) + Number(fields[14])) / 100;
    const live = processTree(pid).reduce((sum, p) => sum + (cpuSeconds(p) ?? 0), 0);
    return reaped + live;
  } catch {
    return null;
  }
}

/**
 * Memory a process tree holds now, MiB, as the sum of its processes' proportional set sizes:
 * shared memory (Postgres' shared buffers) is split among the processes that map it rather than
 * counted once per process, as adding their resident sizes would.
 */
export function treePssMb(pid: number | null): number | null {
  if (pid === null) return null;
  let kb = 0;
  for (const p of processTree(pid)) {
    try {
      const match = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'));
      kb += match ? Number(match[1]) : 0;
    } catch {
      // A backend that exited meanwhile.
    }
  }
  return Math.round(kb / 1024);
}

/** Peak resident memory of a process (VmHWM), MiB. */
export function peakRssMb(pid: number | undefined): number | null {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round(Number(match[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/** Runs `fn` over `items`, at most `limit` at once, keeping their order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

export async function until(
  probe: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
