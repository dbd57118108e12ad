/**
 * The real agent in a process of its own, for tests that SIGKILL it: `node --import tsx
 * agent-process.ts CONFIG.json`. Logs are pino JSON lines on stdout (level from the config), so a
 * test can kill it right after a given step.
 *
 * With EDGELOOP_AGENT_STANDBY=1 the process loads every module (tsx, onnxruntime, sharp), logs
 * `{"msg":"standby"}` and waits for SIGUSR2 before it reads its config or touches the disk: a
 * power-cut test keeps one warm so a point costs the agent's start-up, not Node's and tsx's.
 */
import { readFileSync } from 'node:fs';
import { startAgent } from '@edgeloop/agent';
import { AgentConfigSchema, createLogger } from '@edgeloop/shared';

if (process.env.EDGELOOP_AGENT_STANDBY === '1') {
  await new Promise<void>((resolve) => {
    // A signal handler alone does not keep Node's event loop alive (it would exit with 13).
    const alive = setInterval(() => {}, 60_000);
    process.once('SIGUSR2', () => {
      clearInterval(alive);
      resolve();
    });
    process.stdout.write(`${JSON.stringify({ msg: 'standby', time: Date.now() })}\n`);
  });
}
const config = AgentConfigSchema.parse(JSON.parse(readFileSync(process.argv[2], 'utf8')));
const logger = createLogger({ level: config.logLevel, name: 'agent-process' });
const agent = await startAgent(config, { logger, retry: { baseMs: 100, maxMs: 500 }, httpTimeoutMs: 5_000 });
process.once('SIGTERM', () => {
  agent.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
