/**
 * `edgeloop rollout create|status|pause|resume|abort|rollback`: the operator's side of rollouts,
 * over the admin HTTP API (shared ApiClient), so it works against any running control plane.
 */
import {
  type AgentRollout,
  type AssignModel,
  apiRoutes,
  PROTOCOL_VERSION,
  type Rollout,
  type RolloutStrategyInput,
  type RolloutWave,
  ValidationError,
} from '@edgeloop/shared';
import { apiClient, CONNECTION_OPTIONS } from '../options/connection-options.ts';
import { formatHelp } from '../options/format-help.ts';
import { defineCommand, type OptionDefs, type ParsedArgs } from '../options/option-types.ts';
import { formatRollout } from '../output/rollout-format.ts';

const options = {
  'model-version': { type: 'number', value: 'N', description: 'create: the model version to roll out' },
  'agent-version': {
    type: 'string',
    value: 'V',
    description:
      'create: roll out this agent software version instead (published with edgeloop bundle publish)',
  },
  devices: { type: 'string', value: 'ID,ID', description: 'create: target these devices' },
  group: { type: 'string', value: 'G', description: 'create: target a device group' },
  tags: { type: 'string', value: 'T,T', description: 'create: target devices with these tags' },
  all: { type: 'boolean', description: 'create: target every device' },
  waves: {
    type: 'string',
    value: 'LIST',
    description: 'waves, e.g. 1,10%,50%,100% (a count or a cumulative percentage)',
    defaultText: '1,10%,50%,100%',
  },
  rate: {
    type: 'number',
    value: 'N',
    description: 'at most N devices notified per minute',
    defaultText: '100',
  },
  soak: {
    type: 'number',
    value: 'SECONDS',
    description: 'watch each finished wave this long before its gates',
    defaultText: '300',
  },
  timeout: {
    type: 'number',
    value: 'SECONDS',
    description: 'a device not active this long after notification times out',
    defaultText: '3600',
  },
  'max-failure-percent': {
    type: 'number',
    value: 'P',
    description: 'abort when more than P% of finished devices failed',
    defaultText: '20',
  },
  'min-finished': {
    type: 'number',
    value: 'N',
    description: '...once at least N devices finished',
    defaultText: '1',
  },
  'min-success-percent': {
    type: 'number',
    value: 'P',
    description: 'wave gate: active share of finished devices',
    defaultText: '100',
  },
  'max-confidence-drop': {
    type: 'number',
    value: 'X',
    description: 'wave gate: mean confidence fall vs the previous version',
    defaultText: '0.1',
  },
  'max-low-confidence-rise': {
    type: 'number',
    value: 'X',
    description: 'wave gate: low-confidence rate rise',
    defaultText: '0.15',
  },
  'on-gate-failure': {
    type: 'string',
    choices: ['pause', 'abort'],
    description: 'what a failed wave gate does',
    defaultText: 'abort',
  },
  reason: { type: 'string', value: 'TEXT', description: 'recorded with pause, resume, abort and rollback' },
  ...CONNECTION_OPTIONS,
  json: { type: 'boolean', description: 'print the rollout(s) as JSON' },
} as const satisfies OptionDefs;

export const rolloutCommand = defineCommand({
  name: 'rollout',
  summary: 'staged, health-gated model rollouts: create | status | pause | resume | abort | rollback',
  usage: 'edgeloop rollout <command> [options]',
  subcommands: [
    {
      usage:
        'create (--model-version N | --agent-version V) (--devices ID,ID | --group G | --tags T,T | --all) [strategy options]',
      summary:
        'start a staged rollout of a model version, or of an agent version (devices update themselves)',
    },
    { usage: 'status [ROLLOUT_ID]', summary: 'one rollout in detail, or every rollout in one line each' },
    { usage: 'pause ROLLOUT_ID', summary: 'stop notifying devices; devices already updating carry on' },
    {
      usage: 'resume ROLLOUT_ID',
      summary: 'carry on (after failed gates: start the next wave anyway)',
    },
    {
      usage: 'abort ROLLOUT_ID',
      summary: 'stop and roll every updated device back to its previous version',
    },
    { usage: 'rollback ROLLOUT_ID', summary: 'like abort, also for a completed rollout' },
  ],
  options,
  notes: 'Defaults of the strategy options are applied by the control plane.',
  run: (args): Promise<number> => rollout(args),
});

/** Agent rollouts have their own ids (arol-…) and routes. */
function isAgentRollout(id: string): boolean {
  return id.startsWith('arol-');
}

function waves(text: string): RolloutWave[] {
  return text.split(',').map((w) => {
    const n = Number(w.trim().replace(/%$/, ''));
    if (!Number.isFinite(n)) throw new ValidationError('--waves must be a number');
    return w.trim().endsWith('%') ? { percent: n } : { devices: n };
  });
}

async function rollout({ values, positionals }: ParsedArgs<typeof options>): Promise<number> {
  const [command, id] = positionals;
  const api = apiClient(values);
  const print = (r: Rollout | AgentRollout) =>
    process.stdout.write(values.json ? `${JSON.stringify(r)}\n` : formatRollout(r));

  switch (command) {
    case 'create': {
      const version = values['model-version'];
      const agentVersion = values['agent-version'];
      if ((version === undefined) === (agentVersion === undefined))
        throw new ValidationError('create needs --model-version N or --agent-version V');
      const targets = [values.devices, values.group, values.tags, values.all].filter((v) => v !== undefined);
      if (targets.length !== 1)
        throw new ValidationError('create needs exactly one of --devices, --group, --tags, --all');
      const list = (raw: string) => raw.split(',').map((s) => s.trim());
      const target: AssignModel['target'] = values.devices
        ? { deviceIds: list(values.devices) }
        : values.group
          ? { group: values.group }
          : values.tags
            ? { tags: list(values.tags) }
            : { all: true };
      const strategy: RolloutStrategyInput = {
        waves: values.waves ? waves(values.waves) : undefined,
        maxNotifiedPerMinute: values.rate,
        soakSeconds: values.soak,
        deviceTimeoutSeconds: values.timeout,
        abort: {
          failurePercent: values['max-failure-percent'],
          minFinished: values['min-finished'],
        },
        gates: {
          minSuccessPercent: values['min-success-percent'],
          maxMeanConfidenceDrop: values['max-confidence-drop'],
          maxLowConfidenceRateIncrease: values['max-low-confidence-rise'],
          onFailure: values['on-gate-failure'],
        },
      };
      if (agentVersion !== undefined) {
        const body = { protocol: PROTOCOL_VERSION, agentVersion, target, strategy };
        print(await api.call(apiRoutes.createAgentRollout, { body }));
      } else print(await api.createRollout({ modelVersion: version!, target, strategy }));
      return 0;
    }
    case 'status': {
      if (id) {
        print(
          isAgentRollout(id)
            ? await api.call(apiRoutes.getAgentRollout, { params: { id } })
            : await api.getRollout(id),
        );
        return 0;
      }
      const all: (Rollout | AgentRollout)[] = [
        ...(await api.listRollouts()),
        ...(await api.call(apiRoutes.listAgentRollouts, {})).rollouts,
      ];
      if (values.json) process.stdout.write(`${JSON.stringify(all)}\n`);
      else
        for (const r of all) process.stdout.write(formatRollout({ ...r, devices: [] }).split('\n')[0] + '\n');
      return 0;
    }
    case 'pause':
    case 'resume':
    case 'abort':
    case 'rollback': {
      if (!id) throw new ValidationError(`${command} needs a rollout id`);
      if (isAgentRollout(id)) {
        if (command !== 'abort') throw new ValidationError(`agent rollouts can be aborted, not ${command}d`);
        const body = { protocol: PROTOCOL_VERSION, reason: values.reason };
        print(await api.call(apiRoutes.abortAgentRollout, { params: { id }, body }));
      } else print(await api.rolloutAction(id, command, values.reason));
      return 0;
    }
    default:
      process.stderr.write(`edgeloop rollout: unknown command '${command}'\n\n${formatHelp(rolloutCommand)}`);
      return 2;
  }
}
