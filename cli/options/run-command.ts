/** Runs one command from argv: parse (or pass through), print help on -h/--help, else run. */
import { formatHelp } from './format-help.ts';
import type { CommandDef, OptionDefs } from './option-types.ts';
import { parseCommandArgs } from './parse-command-args.ts';

export async function printHelp(command: CommandDef): Promise<void> {
  process.stdout.write(formatHelp(command));
  if (command.moreHelp) process.stdout.write(await command.moreHelp());
}

export async function runCommand<O extends OptionDefs>(
  command: CommandDef<O>,
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  if (command.passthrough) {
    if (argv[0] === '--help' || argv[0] === '-h') {
      await printHelp(command as CommandDef);
      return 0;
    }
    const none = { values: {}, positionals: argv, explicit: new Set<never>() };
    return command.run(none as unknown as Parameters<CommandDef<O>['run']>[0]);
  }
  const args = parseCommandArgs(command, argv, env);
  if (args.help) {
    await printHelp(command as CommandDef);
    return 0;
  }
  // A command with subcommands and none given: show what there is, as a usage error.
  if (command.subcommands && args.positionals.length === 0) {
    await printHelp(command as CommandDef);
    return 2;
  }
  return command.run(args);
}
