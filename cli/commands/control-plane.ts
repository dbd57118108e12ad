/** `edgeloop control-plane`: load config, start, print where things are, stop on a signal. */
import { API_BASE, ControlPlaneConfigSchema, EdgeloopError, loadConfig } from '@edgeloop/shared';
import { defineCommand, type OptionDefs, type ParsedArgs } from '../options/option-types.ts';
import { nextStopSignal } from '../options/stop-signal.ts';

export const DEFAULT_DATA_DIR = '.edgeloop/control-plane';

const options = {
  config: {
    type: 'string',
    value: 'FILE',
    description: 'JSON config file (env EDGELOOP_CP_* and these flags override it)',
  },
  'data-dir': {
    type: 'string',
    value: 'DIR',
    default: DEFAULT_DATA_DIR,
    description: 'database, artifacts and keys',
  },
  'http-port': { type: 'string', value: 'N', description: 'HTTP port (0 picks a free one)' },
  'mqtt-port': {
    type: 'string',
    value: 'N',
    description:
      'embedded MQTT broker port, plaintext (0 picks a free one; under tls the port is tls.mqttPort)',
  },
  host: { type: 'string', value: 'H', description: 'address both servers bind to' },
  insecure: {
    type: 'boolean',
    description: 'allow plaintext HTTP and MQTT on a non-loopback address (without tls in the config)',
  },
} as const satisfies OptionDefs;

export const controlPlaneCommand = defineCommand({
  name: 'control-plane',
  summary: 'run the control plane: HTTP API, MQTT broker, model registry',
  usage: 'edgeloop control-plane [options]',
  description: 'Runs the control plane: HTTP API, embedded MQTT broker, model registry and sample store.',
  options,
  notes: 'Environment: EDGELOOP_CP_<KEY> overrides config file keys; flags win over both.',
  run: (args): Promise<number> => controlPlane(args),
});

function portOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535)
    throw new EdgeloopError('CONFIG_INVALID', `${flag} must be a port number`);
  return port;
}

async function controlPlane({ values, explicit }: ParsedArgs<typeof options>): Promise<number> {
  try {
    const { adminTokenPath, startControlPlane } = await import('@edgeloop/control-plane');
    const host = values.host;
    const httpPort = portOption(values['http-port'], '--http-port');
    const mqttPort = portOption(values['mqtt-port'], '--mqtt-port');
    // The CLI defaults dataDir; file, env and --data-dir still override it.
    const CliConfigSchema = ControlPlaneConfigSchema.extend({
      dataDir: ControlPlaneConfigSchema.shape.dataDir.default(values['data-dir']),
    });
    const overrides: Record<string, unknown> = {};
    if (explicit.has('data-dir')) overrides.dataDir = values['data-dir'];
    if (host !== undefined || httpPort !== undefined) overrides.http = { host, port: httpPort };
    if (host !== undefined || mqttPort !== undefined) overrides.mqtt = { host, port: mqttPort };
    if (values.insecure) overrides.insecure = true;
    const config = loadConfig(CliConfigSchema, {
      file: values.config,
      envPrefix: 'EDGELOOP_CP_',
      overrides,
    });

    const cp = await startControlPlane(config);
    // Listening before the line that says so: whoever waits for it may signal at once.
    const stopSignal = nextStopSignal();
    console.log(`edgeloop control plane
  HTTP API:     ${cp.httpUrl}${API_BASE}
  API docs:     ${cp.httpUrl}/docs/
  dashboard:    ${cp.httpUrl}/ui/ (sign in as admin with the admin token)
  MQTT:         ${cp.mqttUrl}${cp.serverCa ? `\n  TLS CA:       sha256 ${cp.serverCa.fingerprint} (agents: tls.caFingerprint)` : ''}
  data dir:     ${config.dataDir}
  admin token:  ${config.adminToken ? 'from configuration' : adminTokenPath(config.dataDir)}
  signing key:  ${cp.signingPublicKey.keyId}
Press Ctrl+C to stop.`);

    const signal = await stopSignal;
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
