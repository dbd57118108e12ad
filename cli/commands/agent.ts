/** `edgeloop agent`: runs the device agent until SIGINT/SIGTERM. */
import { AgentConfigSchema, createLogger, loadConfig, resolveCameras } from '@edgeloop/shared';
import { defineCommand, type OptionDefs, type ParsedArgs } from '../options/option-types.ts';
import { nextStopSignal } from '../options/stop-signal.ts';

const options = {
  config: { type: 'string', value: 'FILE', description: 'agent config (JSON, see AgentConfigSchema)' },
  'data-dir': {
    type: 'string',
    value: 'DIR',
    description: 'persistent state: credentials, models, sample queue',
  },
  'enrollment-token': {
    type: 'string',
    value: 'T',
    description: 'enroll with this token when no credentials are stored yet',
  },
  // Not the admin connection option: the agent's own config key, with no admin token.
  'control-plane': { type: 'string', value: 'URL', description: "base URL of the control plane's HTTP API" },
  check: {
    type: 'boolean',
    description: 'validate the config (naming any bad key), print the camera, and exit',
  },
} as const satisfies OptionDefs;

/** Exit status after a self-update switched slots (EX_TEMPFAIL): "start me again". */
export const EXIT_RESTART = 75;

export const agentCommand = defineCommand({
  name: 'agent',
  summary: 'run the device agent: camera → classifier → MQTT, model updates, samples',
  usage: 'edgeloop agent --config FILE [options]',
  description:
    'Runs the device agent: camera → classifier → MQTT, signed model updates, low-confidence samples.',
  options,
  notes:
    "Environment: EDGELOOP_AGENT_<KEY> overrides config keys, '__' between levels (e.g. EDGELOOP_AGENT_SAMPLES__MAX_QUEUED=500). Flags win over both.",
  run: (args): Promise<number> => agent(args),
});

async function agent({ values }: ParsedArgs<typeof options>): Promise<number> {
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
    const cameras = resolveCameras(config);
    const what =
      cameras.length === 1
        ? `camera ${cameras[0].camera.type}`
        : `cameras ${cameras.map((c) => `${c.id}: ${c.camera.type}`).join(', ')}`;
    console.log(`edgeloop agent: config OK (${what}, data in ${config.dataDir})`);
    return 0;
  }

  const { createSystemdNotifier, startAgent, startServiceWatchdog } = await import('@edgeloop/agent');
  const logger = createLogger({ level: config.logLevel, name: 'edgeloop-agent' });
  const running = await startAgent(config, { logger });
  // Listening before the line that says so: whoever waits for it may signal at once.
  const stopSignal = nextStopSignal();
  // The platform is printed because the same bundle format runs on arm64 and x64 boards.
  console.log(
    `edgeloop agent: device ${running.deviceId} running on ${process.platform}/${process.arch}, node ${process.version} (data in ${config.dataDir}); Ctrl-C to stop`,
  );
  // Under systemd (Type=notify): READY=1 now, watchdog pings while the loops are healthy.
  const service = await startServiceWatchdog({
    notifier: createSystemdNotifier({ logger: logger.child({ component: 'systemd' }) }),
    agent: running,
    logger: logger.child({ component: 'service-watchdog' }),
  });

  const stop = await Promise.race([
    stopSignal.then((signal) => ({ restart: false, why: `${signal} received` })),
    running.restartRequested().then((why) => ({ restart: true, why })),
  ]);
  console.log(`edgeloop agent: ${stop.why}, stopping`);
  await service.stop();
  await running.close();
  // The launcher (systemd's ExecStart) is started again and runs the slot the pointer names now.
  return stop.restart ? EXIT_RESTART : 0;
}
