#!/usr/bin/env node
// Launcher: registers tsx so the TypeScript sources run as they are (no build step), then hands
// over to the command dispatcher.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
