/**
 * `edgeloop hash-password`: reads a password from stdin (so it stays out of shell history and
 * process lists) and prints the scrypt hash to put in the control plane's `users[].passwordHash`.
 */
import { ValidationError } from '@edgeloop/shared';
import { defineCommand } from '../options/option-types.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export const hashPasswordCommand = defineCommand({
  name: 'hash-password',
  summary: 'hash a dashboard password read from stdin (for the control plane users config)',
  usage: 'echo -n PASSWORD | edgeloop hash-password',
  description:
    "Reads a password (8 characters or more) from stdin and prints its scrypt hash, for users[].passwordHash in the control plane's config.",
  options: {},
  async run(): Promise<number> {
    const password = (await readStdin()).replace(/\r?\n$/, '');
    if (password.length < 8) throw new ValidationError('passwords need 8 characters or more');
    const { hashSecret } = await import('@edgeloop/control-plane');
    process.stdout.write(`${await hashSecret(password)}\n`);
    return 0;
  },
});
