/** `edgeloop agent`: runs the device agent until SIGINT/SIGTERM. */
import { parseArgs } from 'node:util';
import { AgentConfigSchema, loadConfig } from '@edgeloop/shared';
import { startAgent } from './main.ts';

const HELP = `Usage: edgeloop agent --config FILE [options]

Runs the device agent: camera → classifier → MQTT, signed model updates, low-confidence samples.

Options:
  --config FILE             agent config (JSON, see AgentConfigSchema)
  --data-dir DIR            persistent state: credentials, models, sample queue
  --enrollment-token T      enroll with this token when no credentials are stored yet
  --control-plane URL       base URL of the control plane's HTTP API
  --check                   validate the config (naming any bad key), print the camera, and exit
  -h, --help                show this help

Environment: EDGELOOP_AGENT_<KEY> overrides config keys, '__' between levels
(e.g. EDGELOOP_AGENT_SAMPLES__MAX_QUEUED=500). Flags win over both.
`;

export async function agentCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      'data-dir': { type: 'string' },
      'enrollment-token': { type: 'string' },
      'control-plane': { type: 'string' },
      check: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }

  const overrides: Record<string, unknown> = {};
  if (values['data-dir']) overrides.dataDir = values['data-dir'];
  if (values['enrollment-token']) overrides.enrollmentToken = values['enrollment-token'];
  if (values['control-plane']) overrides.controlPlaneUrl = values['control-plane'];
  const config = loadConfig(AgentConfigSchema, {
    file: values.config,
    envPrefix: 'EDGELOOP_AGENT_',
    overrides,
  });

  if (values.check) {
    console.log(`edgeloop agent: config OK (camera ${config.camera.type}, data in ${config.dataDir})`);
    return 0;
  }

  const agent = await startAgent(config);
  console.log(`edgeloop agent: device ${agent.deviceId} running (data in ${config.dataDir}); Ctrl-C to stop`);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log(`edgeloop agent: ${signal} received, stopping`);
  await agent.close();
  return 0;
}
