/**
 * Runs a command and turns what it throws into a message and an exit code: 2 for usage and config
 * errors, 1 otherwise. Shared by the `edgeloop` dispatcher and the bundled agent's entry.
 */
import { EdgeloopError } from '@edgeloop/shared';
import type { CommandDef, OptionDefs } from './option-types.ts';
import { runCommand } from './run-command.ts';

export async function runGuarded<O extends OptionDefs>(
  command: CommandDef<O>,
  argv: string[],
): Promise<number> {
  try {
    return await runCommand(command, argv);
  } catch (err) {
    if (err instanceof EdgeloopError) {
      process.stderr.write(`edgeloop ${command.name}: ${err.message} [${err.code}]\n`);
      return err.code === 'VALIDATION_FAILED' || err.code === 'CONFIG_INVALID' ? 2 : 1;
    }
    process.stderr.write(`edgeloop ${command.name}: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}
