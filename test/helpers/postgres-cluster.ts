/**
 * A throwaway Postgres 15 cluster for tests: Debian's binaries, initdb as the `postgres` user
 * (initdb refuses root), trust auth, loopback only, a temp dir removed on stop. Missing binaries
 * fail the suite unless EDGELOOP_TEST_SKIP_POSTGRES=1 says so explicitly. Given a `dir`, the
 * cluster lives there and is kept on stop, and a later start reuses it (benchmarks that reuse a
 * large enrolled fleet).
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.ts';

const BIN = '/usr/lib/postgresql/15/bin';
const run = promisify(execFile);

export const postgresSkipped = process.env.EDGELOOP_TEST_SKIP_POSTGRES === '1';

export interface PostgresCluster {
  url: string;
  /** The postmaster's process id (benchmarks read its CPU time and peak memory). */
  pid(): Promise<number | null>;
  /**
   * Stops the server (`fast`: sessions are told to end, as a service restart does; `immediate`:
   * as a crash does), runs `whileDown`, then starts it again on the same port and data directory.
   */
  restart(options?: { mode?: 'fast' | 'immediate'; whileDown?: () => Promise<void> }): Promise<void>;
  /** Runs one SQL statement with psql and returns its rows, fields separated by `|`. */
  query(sql: string): Promise<string[]>;
  stop(): Promise<void>;
}

/** Asynchronous, so agents and servers in the test's own process keep running meanwhile. */
async function asPostgres(command: string): Promise<void> {
  const root = process.getuid?.() === 0;
  if (root) await run('su', ['-s', '/bin/sh', 'postgres', '-c', command]);
  else await run('/bin/sh', ['-c', command]);
}

export async function startPostgres(options: { dir?: string } = {}): Promise<PostgresCluster> {
  if (!existsSync(join(BIN, 'initdb'))) {
    throw new Error(
      `Postgres binaries not found in ${BIN}: apt-get install postgresql (or set EDGELOOP_TEST_SKIP_POSTGRES=1)`,
    );
  }
  const kept = options.dir !== undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'edgeloop-pg-'));
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const port = await freePort();
  const start = () =>
    asPostgres(`${BIN}/pg_ctl -D ${data} -o "-p ${port} -k ${dir} -h 127.0.0.1" -w start >/dev/null`);
  const stopServer = (mode: 'fast' | 'immediate') =>
    asPostgres(`${BIN}/pg_ctl -D ${data} -m ${mode} -w stop >/dev/null`);
  if (!existsSync(join(data, 'PG_VERSION')))
    await asPostgres(`${BIN}/initdb -D ${data} -A trust -U edgeloop >/dev/null`);
  await start();
  const url = `postgres://edgeloop@127.0.0.1:${port}/postgres`;
  return {
    url,
    async pid() {
      try {
        // Its first line; the file is there while the server runs.
        return Number((await readFile(join(data, 'postmaster.pid'), 'utf8')).split('\n')[0]) || null;
      } catch {
        return null;
      }
    },
    async restart(options = {}) {
      await stopServer(options.mode ?? 'fast');
      try {
        await options.whileDown?.();
      } finally {
        await start();
      }
    },
    async query(sql) {
      const { stdout } = await run(`${BIN}/psql`, ['-At', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql]);
      return stdout.split('\n').filter((line) => line !== '');
    },
    async stop() {
      try {
        if (existsSync(join(data, 'postmaster.pid'))) await stopServer(kept ? 'fast' : 'immediate');
      } finally {
        if (!kept) rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
