/** `edgeloop control-plane`: load config, start, print where things are, stop on a signal. */
import { parseArgs } from 'node:util';
import { ControlPlaneConfigSchema, EdgeloopError, loadConfig } from '@edgeloop/shared';
import { adminTokenPath } from './auth/key-files.ts';
import { startControlPlane } from './main.ts';

export const DEFAULT_DATA_DIR = '.edgeloop/control-plane';

const USAGE = `Usage: edgeloop control-plane [options]

Runs the control plane: HTTP API, embedded MQTT broker, model registry and sample store.

Options:
  --config FILE     JSON config file (env EDGELOOP_CP_* and these flags override it)
  --data-dir DIR    database, artifacts and keys (default ${DEFAULT_DATA_DIR})
  --http-port N     HTTP port (0 picks a free one)
  --mqtt-port N     embedded MQTT broker port (0 picks a free one)
  --host H          address both servers bind to
  -h, --help        show this help
`;

/** The CLI defaults dataDir; file, env and --data-dir still override it. */
const CliConfigSchema = ControlPlaneConfigSchema.extend({
  dataDir: ControlPlaneConfigSchema.shape.dataDir.default(DEFAULT_DATA_DIR),
});

function portOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535)
    throw new EdgeloopError('CONFIG_INVALID', `${flag} must be a port number`);
  return port;
}

export async function controlPlaneCommand(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' },
        'data-dir': { type: 'string' },
        'http-port': { type: 'string' },
        'mqtt-port': { type: 'string' },
        host: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }

  try {
    const host = values.host as string | undefined;
    const httpPort = portOption(values['http-port'] as string | undefined, '--http-port');
    const mqttPort = portOption(values['mqtt-port'] as string | undefined, '--mqtt-port');
    const overrides: Record<string, unknown> = {};
    if (values['data-dir']) overrides.dataDir = values['data-dir'];
    if (host !== undefined || httpPort !== undefined) overrides.http = { host, port: httpPort };
    if (host !== undefined || mqttPort !== undefined) overrides.mqtt = { host, port: mqttPort };
    const config = loadConfig(CliConfigSchema, {
      file: values.config as string | undefined,
      envPrefix: 'EDGELOOP_CP_',
      overrides,
    });

    const cp = await startControlPlane(config);
    console.log(`edgeloop control plane
  HTTP:         ${cp.httpUrl}/api/v1
  dashboard:    ${cp.httpUrl}/ui/ (sign in as admin with the admin token)
  MQTT:         ${cp.mqttUrl}
  data dir:     ${config.dataDir}
  admin token:  ${config.adminToken ? 'from configuration' : adminTokenPath(config.dataDir)}
  signing key:  ${cp.signingPublicKey.keyId}
Press Ctrl+C to stop.`);

    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    console.log(`\n${signal}: stopping…`);
    await cp.close();
    return 0;
  } catch (err) {
    if (err instanceof EdgeloopError) {
      console.error(`error (${err.code}): ${err.message}`);
      return 1;
    }
    throw err;
  }
}
