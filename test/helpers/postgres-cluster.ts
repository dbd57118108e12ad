/**
 * A throwaway Postgres 15 cluster for tests: Debian's binaries, initdb as the `postgres` user
 * (initdb refuses root), trust auth, loopback only, a temp dir removed on stop. Missing binaries
 * fail the suite unless EDGELOOP_TEST_SKIP_POSTGRES=1 says so explicitly.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';

const BIN = '/usr/lib/postgresql/15/bin';

export const postgresSkipped = process.env.EDGELOOP_TEST_SKIP_POSTGRES === '1';

export interface PostgresCluster {
  url: string;
  stop(): Promise<void>;
}

function asPostgres(command: string): void {
  const root = process.getuid?.() === 0;
  if (root) execFileSync('su', ['-s', '/bin/sh', 'postgres', '-c', command], { stdio: 'pipe' });
  else execFileSync('/bin/sh', ['-c', command], { stdio: 'pipe' });
}

export async function startPostgres(): Promise<PostgresCluster> {
  if (!existsSync(join(BIN, 'initdb'))) {
    throw new Error(
      `Postgres binaries not found in ${BIN}: apt-get install postgresql (or set EDGELOOP_TEST_SKIP_POSTGRES=1)`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const port = await freePort();
  asPostgres(`${BIN}/initdb -D ${data} -A trust -U edgeloop >/dev/null`);
  asPostgres(`${BIN}/pg_ctl -D ${data} -o "-p ${port} -k ${dir} -h 127.0.0.1" -w start >/dev/null`);
  return {
    url: `postgres://edgeloop@127.0.0.1:${port}/postgres`,
    async stop() {
      try {
        asPostgres(`${BIN}/pg_ctl -D ${data} -m immediate -w stop >/dev/null`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
