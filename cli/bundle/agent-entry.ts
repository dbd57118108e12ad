/**
 * Entry point of the agent inside a bundle (app/agent.mjs, built by esbuild): the same
 * `edgeloop agent` command as the CLI's, without the other programs or a TypeScript loader.
 */
import { agentCommand } from '../commands/agent.ts';
import { runGuarded } from '../options/run-guarded.ts';

process.exitCode = await runGuarded(agentCommand, process.argv.slice(2));
