/**
 * The real agent in a process of its own, for tests that SIGKILL it: `node --import tsx
 * agent-process.ts CONFIG.json`. Logs are pino JSON lines on stdout (level from the config), so a
 * test can kill it right after a given step.
 */
import { readFileSync } from 'node:fs';
import { startAgent } from '@edgeloop/agent';
import { AgentConfigSchema, createLogger } from '@edgeloop/shared';

const config = AgentConfigSchema.parse(JSON.parse(readFileSync(process.argv[2], 'utf8')));
const logger = createLogger({ level: config.logLevel, name: 'agent-process' });
const agent = await startAgent(config, { logger, retry: { baseMs: 100, maxMs: 500 }, httpTimeoutMs: 2_000 });
process.once('SIGTERM', () => {
  agent.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
