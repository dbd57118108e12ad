/**
 * `edgeloop config set|get|delete|list|show`: remote agent configuration over the admin HTTP API.
 * Fragments belong to a group, a tag or a device and merge in that order (the device wins); the
 * control plane validates them with the agent's own schema and names any bad key.
 */
import { readFile } from 'node:fs/promises';
import {
  apiRoutes,
  type ConfigScope,
  mergeSettings,
  PROTOCOL_VERSION,
  ValidationError,
} from '@edgeloop/shared';
import { ACTOR_OPTION, apiClient, CONNECTION_OPTIONS } from '../options/connection-options.ts';
import { formatHelp } from '../options/format-help.ts';
import { defineCommand, type OptionDefs, type ParsedArgs } from '../options/option-types.ts';

const options = {
  group: { type: 'string', value: 'G', description: 'the fragment of this device group' },
  tag: { type: 'string', value: 'T', description: 'the fragment of devices with this tag' },
  device: { type: 'string', value: 'ID', description: 'the fragment of this one device' },
  file: { type: 'string', value: 'FILE', description: 'set: the fragment as a JSON file' },
  set: {
    type: 'string',
    value: 'KEY=VALUE',
    multiple: true,
    description: 'set: one setting, e.g. samples.lowConfidenceThreshold=0.4 (JSON values; repeatable)',
  },
  replace: { type: 'boolean', description: 'set: replace the stored fragment instead of merging into it' },
  'dry-run': { type: 'boolean', description: 'set: validate only; list the devices it would reach' },
  ...CONNECTION_OPTIONS,
  ...ACTOR_OPTION,
  json: { type: 'boolean', description: 'print JSON' },
} as const satisfies OptionDefs;

export const configCommand = defineCommand({
  name: 'config',
  summary: 'remote agent configuration per group, tag and device: set | get | delete | list | show',
  usage: 'edgeloop config <command> [options]',
  subcommands: [
    {
      usage: 'set (--group G | --tag T | --device ID) (--file F | --set KEY=VALUE ...) [--dry-run]',
      summary: 'set or change a fragment (camera, frames, samples, predictions, updates)',
    },
    { usage: 'get (--group G | --tag T | --device ID)', summary: 'one fragment (passwords redacted)' },
    { usage: 'delete (--group G | --tag T | --device ID)', summary: 'remove a fragment' },
    { usage: 'list', summary: 'every fragment' },
    { usage: 'show DEVICE_ID', summary: "a device's effective configuration and the revision it applied" },
  ],
  options,
  notes:
    'Fragments merge group < tags < device. `camera` is replaced whole; other sections merge key by key. A pushed camera that delivers no frame is reverted by the agent.',
  run: (args): Promise<number> => config(args),
});

type Values = ParsedArgs<typeof options>['values'];

function scopeOf(values: Values): { scope: ConfigScope; key: string } {
  const given = (['group', 'tag', 'device'] as const).filter((s) => values[s] !== undefined);
  if (given.length !== 1) throw new ValidationError('give exactly one of --group, --tag, --device');
  const scope = given[0];
  return { scope, key: values[scope] as string };
}

/**
 * Applies `a.b.c=value` to a fragment: sets that one key, creating objects on the way (so
 * `camera.fps=3` changes only the camera's fps). The value is JSON when it parses, else a string.
 */
export function applyAssignment(
  settings: Record<string, unknown>,
  assignment: string,
): Record<string, unknown> {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new ValidationError(`--set '${assignment}': expected KEY=VALUE`);
  const path = assignment.slice(0, eq).split('.');
  const raw = assignment.slice(eq + 1);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  const out = structuredClone(settings);
  let node = out;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node[key] = typeof next === 'object' && next !== null && !Array.isArray(next) ? next : {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
  return out;
}

async function config({ values, positionals }: ParsedArgs<typeof options>): Promise<number> {
  const [command, arg] = positionals;
  const api = apiClient(values);
  const print = (value: unknown) =>
    process.stdout.write(`${JSON.stringify(value, null, values.json ? 0 : 2)}\n`);

  switch (command) {
    case 'set': {
      const { scope, key } = scopeOf(values);
      let settings: Record<string, unknown> = {};
      if (!values.replace) {
        const current = await api
          .call(apiRoutes.getConfigFragment, { params: { scope, key } })
          .catch(() => null);
        // Redacted passwords come back as ***; the control plane restores them on save.
        settings = current?.settings ?? {};
      }
      if (values.file) settings = mergeSettings(settings, JSON.parse(await readFile(values.file, 'utf8')));
      for (const assignment of values.set) settings = applyAssignment(settings, assignment);
      if (!values.file && values.set.length === 0) throw new ValidationError('set needs --file or --set');
      print(
        await api.call(apiRoutes.putConfigFragment, {
          params: { scope, key },
          query: { dryRun: values['dry-run'] ? 'true' : undefined },
          body: { protocol: PROTOCOL_VERSION, settings },
        }),
      );
      return 0;
    }
    case 'get':
      print(await api.call(apiRoutes.getConfigFragment, { params: scopeOf(values) }));
      return 0;
    case 'delete':
      print(await api.call(apiRoutes.deleteConfigFragment, { params: scopeOf(values) }));
      return 0;
    case 'list':
      print((await api.call(apiRoutes.listConfigFragments)).fragments);
      return 0;
    case 'show': {
      if (!arg) throw new ValidationError('show needs a device id');
      print(await api.call(apiRoutes.getDeviceConfig, { params: { id: arg } }));
      return 0;
    }
    default:
      process.stderr.write(`edgeloop config: unknown command '${command}'\n\n${formatHelp(configCommand)}`);
      return 2;
  }
}
