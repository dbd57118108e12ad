/**
 * The `edgeloop` command: finds the command, runs it, and turns what it throws into a message and
 * an exit code (2 for usage and config errors, 1 otherwise). Program packages load lazily, inside
 * each command's run (see command-list.ts).
 */
import { COMMANDS } from './command-list.ts';
import { runGuarded } from './options/run-guarded.ts';

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: edgeloop <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run `edgeloop <command> --help` for a command's options.",
    '',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help());
    return name ? 0 : 2;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`edgeloop: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  return runGuarded(command, rest);
}
