/**
 * The real control plane in a process of its own for `edgeloop bench rollout`, so it has a core
 * to itself while the simulated fleet runs in the bench process: `node --import tsx
 * control-plane-process.ts CONFIG.json`. Prints one JSON line with where it listens, then runs
 * until SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { startControlPlane } from '@edgeloop/control-plane';
import { ControlPlaneConfigSchema, createLogger } from '@edgeloop/shared';

const config = ControlPlaneConfigSchema.parse(JSON.parse(readFileSync(process.argv[2], 'utf8')));
const cp = await startControlPlane(config, {
  logger: createLogger({ level: config.logLevel, destination: process.stderr }),
});
process.stdout.write(
  `${JSON.stringify({
    httpUrl: cp.httpUrl,
    mqttUrl: cp.mqttUrl,
    adminToken: cp.adminToken,
    signingPublicKey: cp.signingPublicKey,
  })}\n`,
);
process.once('SIGTERM', () => {
  cp.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
