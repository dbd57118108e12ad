/**
 * `edgeloop device list|move|pin|unpin|targets|revoke|signing-keys|rotate-signing-key|retire-signing-key`:
 * the fleet's devices and the versions their
 * groups and tags should run, over the admin HTTP API. A pin holds one device at a version whatever
 * rollouts and group/tag targets say (device pin > rollout in progress > group/tag target).
 */
import { apiRoutes, type DeviceSummary, PROTOCOL_VERSION, ValidationError } from '@edgeloop/shared';
import { LOOP_OPTIONS, loopClient } from '../options/connection-options.ts';
import { formatHelp } from '../options/format-help.ts';
import { defineCommand, type OptionDefs, type ParsedArgs } from '../options/option-types.ts';
import { formatDeviceLine, formatTargets } from '../output/device-format.ts';

const options = {
  'model-version': { type: 'number', value: 'N', description: 'pin: the version to hold the device at' },
  reason: { type: 'string', value: 'TEXT', description: 'pin: why, shown with the pin' },
  group: { type: 'string', value: 'G', description: 'move: the new group' },
  tags: { type: 'string', value: 'T,T', description: 'move: the new tags (replace the old ones)' },
  ...LOOP_OPTIONS,
} as const satisfies OptionDefs;

export const deviceCommand = defineCommand({
  name: 'device',
  summary:
    'devices, pins, targets, revocation and signing keys: list | move | pin | unpin | targets | revoke | …',
  usage: 'edgeloop device <command> [options]',
  subcommands: [
    { usage: 'list', summary: 'every device: group, tags, version it runs, pin, converging' },
    {
      usage: 'move DEVICE_ID (--group G | --tags T,T)',
      summary: 'change group or tags; the device converges to its new target version',
    },
    {
      usage: 'pin DEVICE_ID --model-version N [--reason TEXT]',
      summary: 'hold the device at a version; rollouts leave it out until it is unpinned',
    },
    { usage: 'unpin DEVICE_ID', summary: 'remove the pin; the device returns to its group/tag target' },
    { usage: 'targets', summary: 'the version each group, tag set and the whole fleet should run' },
    {
      usage: 'revoke DEVICE_ID',
      summary: 'admin: its secret and certificate stop working and its live MQTT connection closes',
    },
    { usage: 'signing-keys', summary: 'the manifest signing keys: active, and trusted until retired' },
    {
      usage: 'rotate-signing-key',
      summary: 'admin: a new key signs from now on; devices learn it from desired states signed by both',
    },
    {
      usage: 'retire-signing-key KEY_ID',
      summary: 'admin: stop trusting the previous key; manifests are re-signed by the active one',
    },
  ],
  options,
  notes: 'Precedence: device pin > rollout in progress > group/tag target (the newest one set wins).',
  run: (args): Promise<number> => device(args),
});

async function device({ values, positionals }: ParsedArgs<typeof options>): Promise<number> {
  const [command, id] = positionals;
  // The actor is recorded with a pin (who pinned it shows on the device).
  const client = loopClient(values);
  const json = (v: unknown) => process.stdout.write(`${JSON.stringify(v)}\n`);
  const print = (d: DeviceSummary) => (values.json ? json(d) : process.stdout.write(formatDeviceLine(d)));
  const needId = () => {
    if (!id) throw new ValidationError(`${command} needs a device id`);
    return id;
  };

  switch (command) {
    case 'list': {
      const devices = await client.listDevices();
      if (values.json) json(devices);
      else for (const d of devices) print(d);
      return 0;
    }
    case 'move': {
      if (values.group === undefined && values.tags === undefined)
        throw new ValidationError('move needs --group G or --tags T,T');
      const tags = values.tags
        ?.split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '');
      print(
        await client.call(apiRoutes.updateDevice, {
          params: { id: needId() },
          body: { protocol: PROTOCOL_VERSION, group: values.group, tags },
        }),
      );
      return 0;
    }
    case 'pin': {
      const version = values['model-version'];
      if (version === undefined) throw new ValidationError('pin needs --model-version N');
      print(
        await client.call(apiRoutes.pinDevice, {
          params: { id: needId() },
          body: { protocol: PROTOCOL_VERSION, modelVersion: version, reason: values.reason },
        }),
      );
      return 0;
    }
    case 'unpin':
      print(await client.call(apiRoutes.unpinDevice, { params: { id: needId() } }));
      return 0;
    case 'targets': {
      const { targets } = await client.call(apiRoutes.listFleetTargets);
      process.stdout.write(values.json ? `${JSON.stringify(targets)}\n` : formatTargets(targets));
      return 0;
    }
    case 'revoke': {
      const revoked = await client.call(apiRoutes.revokeDevice, { params: { id: needId() } });
      if (values.json) json(revoked);
      else
        process.stdout.write(
          `revoked ${revoked.deviceId} at ${revoked.revokedAt}; live MQTT connections closed: ${revoked.connectionsClosed}\n`,
        );
      return 0;
    }
    case 'signing-keys':
    case 'rotate-signing-key':
    case 'retire-signing-key': {
      const keys =
        command === 'signing-keys'
          ? await client.call(apiRoutes.listSigningKeys)
          : command === 'rotate-signing-key'
            ? await client.call(apiRoutes.rotateSigningKey)
            : await client.call(apiRoutes.retireSigningKey, { params: { keyId: needId() } });
      if (values.json) json(keys);
      else for (const k of keys.keys) process.stdout.write(`${k.keyId}  ${k.state}\n`);
      return 0;
    }
    default:
      process.stderr.write(`edgeloop device: unknown command '${command}'\n\n${formatHelp(deviceCommand)}`);
      return 2;
  }
}
