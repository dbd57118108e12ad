/**
 * `edgeloop hash-password`: reads a password from stdin (so it stays out of shell history and
 * process lists) and prints the scrypt hash to put in the control plane's `users[].passwordHash`.
 */
import { EdgeloopError } from '@edgeloop/shared';
import { hashSecret } from './auth/secrets.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function hashPasswordCommand(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write('Usage: echo -n PASSWORD | edgeloop hash-password\n');
    return 0;
  }
  const password = (await readStdin()).replace(/\r?\n$/, '');
  if (password.length < 8)
    throw new EdgeloopError('VALIDATION_FAILED', 'passwords need 8 characters or more');
  process.stdout.write(`${await hashSecret(password)}\n`);
  return 0;
}
