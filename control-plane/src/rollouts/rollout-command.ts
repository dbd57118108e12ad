/**
 * `edgeloop rollout create|status|pause|resume|abort|rollback`: the operator's side of rollouts,
 * over the admin HTTP API (shared ApiClient), so it works against any running control plane.
 */
import { parseArgs } from 'node:util';
import {
  ApiClient,
  type AssignModel,
  ConfigError,
  type Rollout,
  type RolloutStrategyInput,
  type RolloutWave,
  ValidationError,
} from '@edgeloop/shared';

const HELP = `Usage: edgeloop rollout <command> [options]

Commands:
  create --model-version N (--devices ID,ID | --group G | --tags T,T | --all) [strategy options]
  status [ROLLOUT_ID]          one rollout in detail, or every rollout in one line each
  pause ROLLOUT_ID             stop notifying devices; devices already updating carry on
  resume ROLLOUT_ID            carry on (after failed gates: start the next wave anyway)
  abort ROLLOUT_ID             stop and roll every updated device back to its previous version
  rollback ROLLOUT_ID          like abort, also for a completed rollout

Strategy options (create):
  --waves LIST                 e.g. 1,10%,50%,100% (a count or a cumulative percentage; default)
  --rate N                     at most N devices notified per minute (default 100)
  --soak SECONDS               watch each finished wave this long before its gates (default 300)
  --timeout SECONDS            a device not active this long after notification times out (default 3600)
  --max-failure-percent P      abort when more than P% of finished devices failed (default 20)
  --min-finished N             ...once at least N devices finished (default 1)
  --min-success-percent P      wave gate: active share of finished devices (default 100)
  --max-confidence-drop X      wave gate: mean confidence fall vs the previous version (default 0.1)
  --max-low-confidence-rise X  wave gate: low-confidence rate rise (default 0.15)
  --on-gate-failure pause|abort (default abort)

Common options:
  --reason TEXT                recorded with pause, resume, abort and rollback
  --control-plane URL          (env EDGELOOP_URL)
  --admin-token T              (env EDGELOOP_ADMIN_TOKEN)
  --json                       print the rollout(s) as JSON
`;

function num(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new ValidationError(`${flag} must be a number`);
  return n;
}

function waves(text: string): RolloutWave[] {
  return text.split(',').map((w) => {
    const n = num(w.trim().replace(/%$/, ''), '--waves');
    return w.trim().endsWith('%') ? { percent: n! } : { devices: n! };
  });
}

/** Text view: the rollout, its waves with gate results, and each device's current state. */
export function formatRollout(r: Rollout): string {
  const counts = Object.entries(r.counts)
    .map(([state, n]) => `${state}=${n}`)
    .join(' ');
  const lines = [
    `${r.rolloutId}  version ${r.modelVersion}  ${r.state}  wave ${r.currentWave + 1}/${r.waves.length}  ${counts}`,
  ];
  if (r.reason) lines.push(`  reason: ${r.reason}`);
  for (const w of r.waves) {
    lines.push(`  wave ${w.index + 1}: ${w.devices} devices, ${w.state}`);
    for (const c of w.checks ?? []) lines.push(`    ${c.passed ? 'pass' : 'FAIL'} ${c.name}: ${c.detail}`);
  }
  for (const d of r.devices) {
    lines.push(`  ${d.deviceId.padEnd(20)} wave ${d.wave + 1}  ${d.state.padEnd(12)} ${d.reason ?? ''}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function rolloutCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      'model-version': { type: 'string' },
      devices: { type: 'string' },
      group: { type: 'string' },
      tags: { type: 'string' },
      all: { type: 'boolean' },
      waves: { type: 'string' },
      rate: { type: 'string' },
      soak: { type: 'string' },
      timeout: { type: 'string' },
      'max-failure-percent': { type: 'string' },
      'min-finished': { type: 'string' },
      'min-success-percent': { type: 'string' },
      'max-confidence-drop': { type: 'string' },
      'max-low-confidence-rise': { type: 'string' },
      'on-gate-failure': { type: 'string' },
      reason: { type: 'string' },
      'control-plane': { type: 'string' },
      'admin-token': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  const [command, id] = positionals;
  if (values.help || !command) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  const url = values['control-plane'] ?? process.env.EDGELOOP_URL;
  const token = values['admin-token'] ?? process.env.EDGELOOP_ADMIN_TOKEN;
  if (!url || !token) {
    throw new ConfigError(
      'this needs --control-plane URL and --admin-token T (or EDGELOOP_URL and EDGELOOP_ADMIN_TOKEN)',
    );
  }
  const api = new ApiClient(url, token);
  const print = (r: Rollout) =>
    process.stdout.write(values.json ? `${JSON.stringify(r)}\n` : formatRollout(r));

  switch (command) {
    case 'create': {
      const version = num(values['model-version'], '--model-version');
      if (version === undefined) throw new ValidationError('create needs --model-version N');
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
      const onFailure = values['on-gate-failure'];
      if (onFailure !== undefined && onFailure !== 'pause' && onFailure !== 'abort') {
        throw new ValidationError('--on-gate-failure must be pause or abort');
      }
      const strategy: RolloutStrategyInput = {
        waves: values.waves ? waves(values.waves) : undefined,
        maxNotifiedPerMinute: num(values.rate, '--rate'),
        soakSeconds: num(values.soak, '--soak'),
        deviceTimeoutSeconds: num(values.timeout, '--timeout'),
        abort: {
          failurePercent: num(values['max-failure-percent'], '--max-failure-percent'),
          minFinished: num(values['min-finished'], '--min-finished'),
        },
        gates: {
          minSuccessPercent: num(values['min-success-percent'], '--min-success-percent'),
          maxMeanConfidenceDrop: num(values['max-confidence-drop'], '--max-confidence-drop'),
          maxLowConfidenceRateIncrease: num(values['max-low-confidence-rise'], '--max-low-confidence-rise'),
          onFailure,
        },
      };
      print(await api.createRollout({ modelVersion: version, target, strategy }));
      return 0;
    }
    case 'status': {
      if (id) {
        print(await api.getRollout(id));
        return 0;
      }
      const all = await api.listRollouts();
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
      print(await api.rolloutAction(id, command, values.reason));
      return 0;
    }
    default:
      process.stderr.write(`edgeloop rollout: unknown command '${command}'\n\n${HELP}`);
      return 2;
  }
}
