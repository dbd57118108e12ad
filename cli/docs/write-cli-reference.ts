/** `npm run docs:cli`: writes docs/reference/cli.md from the command definitions. */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { COMMANDS } from '../command-list.ts';
import { renderCliReference } from './cli-reference.ts';

export const CLI_REFERENCE_PATH = fileURLToPath(new URL('../../docs/reference/cli.md', import.meta.url));

await writeFile(CLI_REFERENCE_PATH, renderCliReference(COMMANDS));
process.stdout.write(`wrote ${CLI_REFERENCE_PATH}\n`);
