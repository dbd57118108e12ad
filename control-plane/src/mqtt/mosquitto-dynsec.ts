/**
 * Device identities on Mosquitto 2 through its dynamic-security plugin: commands go as JSON to
 * `$CONTROL/dynamic-security/v1` over the control plane's own connection and each is matched to
 * its answer on `.../response` by `correlationData`, which the plugin echoes back.
 *
 * Per device: a role `edgeloop-device-<id>` whose ACLs are shared's deviceAclTopics (publish only
 * its own state/status/predictions/events/frame and Home Assistant config, subscribe only to its
 * own desired and config topics; the plugin's default denies everything else), and a client with
 * username = device id, the device's secret and the client id bound to deviceClientId(id), so no
 * device can connect as another's client id. Deleting the client makes Mosquitto disconnect it.
 */
import { randomBytes } from 'node:crypto';
import {
  ConflictError,
  deviceAclTopics,
  deviceClientId,
  EdgeloopError,
  type Logger,
  parseJsonWith,
} from '@edgeloop/shared';
import { z } from 'zod';
import type { BrokerIdentities } from './broker-identities.ts';
import type { MqttConnection } from './mqtt-client.ts';

export const DYNSEC_COMMAND_TOPIC = '$CONTROL/dynamic-security/v1';
export const DYNSEC_RESPONSE_TOPIC = `${DYNSEC_COMMAND_TOPIC}/response`;
const DEVICE_ROLE_PREFIX = 'edgeloop-device-';

/** A command the broker refused, or one it did not answer in time. */
export class DynsecCommandError extends EdgeloopError {
  constructor(
    readonly command: string,
    readonly brokerError: string,
  ) {
    super('UPSTREAM_FAILED', `mosquitto dynamic-security ${command} failed: ${brokerError}`);
  }
}

const ResponsesSchema = z.object({
  responses: z.array(
    z.object({
      command: z.string(),
      error: z.string().optional(),
      data: z.unknown().optional(),
      correlationData: z.string().optional(),
    }),
  ),
});
type DynsecResponse = z.infer<typeof ResponsesSchema>['responses'][number];
type Command = { command: string } & Record<string, unknown>;

interface Pending {
  command: string;
  resolve(response: DynsecResponse): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export function roleName(deviceId: string): string {
  return `${DEVICE_ROLE_PREFIX}${deviceId}`;
}

function deviceRoleAcls(deviceId: string) {
  const { publish, subscribe } = deviceAclTopics(deviceId);
  return [
    ...publish.map((topic) => ({ acltype: 'publishClientSend', topic, allow: true })),
    ...subscribe.map((topic) => ({ acltype: 'subscribeLiteral', topic, allow: true })),
  ];
}

const notFound = (r: DynsecResponse) => r.error === undefined || /not found/i.test(r.error);

export function createMosquittoDynsec(deps: {
  connection: MqttConnection;
  timeoutMs: number;
  logger: Logger;
}): BrokerIdentities {
  const { connection, timeoutMs } = deps;
  const log = deps.logger;
  const pending = new Map<string, Pending>();

  connection.onConnect(() => connection.subscribe([DYNSEC_RESPONSE_TOPIC], 1));
  connection.onMessage((topic, payload) => {
    if (topic !== DYNSEC_RESPONSE_TOPIC) return;
    let responses: DynsecResponse[];
    try {
      responses = parseJsonWith(ResponsesSchema, payload, 'dynamic-security response').responses;
    } catch (err) {
      log.warn({ err }, 'ignoring a malformed dynamic-security response');
      return;
    }
    for (const response of responses) {
      // Answers to other admin clients' commands arrive here too; they match nothing of ours.
      const waiting = response.correlationData ? pending.get(response.correlationData) : undefined;
      if (!waiting) continue;
      pending.delete(response.correlationData!);
      clearTimeout(waiting.timer);
      waiting.resolve(response);
    }
  });

  /** Sends the commands in one message (the plugin runs them in order) and returns every answer. */
  async function run(commands: Command[]): Promise<DynsecResponse[]> {
    if (!connection.connected()) {
      throw new DynsecCommandError(commands.map((c) => c.command).join(', '), 'broker not connected');
    }
    const tagged = commands.map((command) => ({
      ...command,
      correlationData: randomBytes(12).toString('base64url'),
    }));
    const answers = tagged.map(
      (command) =>
        new Promise<DynsecResponse>((resolve, reject) => {
          const timer = setTimeout(() => {
            pending.delete(command.correlationData);
            reject(new DynsecCommandError(command.command, `no answer within ${timeoutMs} ms`));
          }, timeoutMs);
          pending.set(command.correlationData, { command: command.command, resolve, reject, timer });
        }),
    );
    // Watched from now on: an answer may time out while the publish still waits for its PUBACK,
    // and an unwatched rejection would end the process.
    const all = Promise.all(answers);
    all.catch(() => {});
    try {
      await connection.publish(DYNSEC_COMMAND_TOPIC, JSON.stringify({ commands: tagged }), {
        qos: 1,
        retain: false,
        timeoutMs,
      });
    } catch (err) {
      for (const command of tagged) {
        const waiting = pending.get(command.correlationData);
        if (waiting) clearTimeout(waiting.timer);
        pending.delete(command.correlationData);
      }
      throw err;
    }
    return all;
  }

  function check(response: DynsecResponse, allowed: (r: DynsecResponse) => boolean = (r) => !r.error) {
    if (!allowed(response)) throw new DynsecCommandError(response.command, response.error ?? 'refused');
  }

  async function listRoles(): Promise<string[]> {
    const [response] = await run([{ command: 'listRoles', count: -1, offset: 0 }]);
    check(response);
    const data = z.object({ roles: z.array(z.string()) }).safeParse(response.data);
    if (!data.success) throw new DynsecCommandError('listRoles', 'unexpected answer');
    return data.data.roles;
  }

  async function listClients(): Promise<Set<string>> {
    const [response] = await run([{ command: 'listClients', count: -1, offset: 0 }]);
    check(response);
    const data = z.object({ clients: z.array(z.string()) }).safeParse(response.data);
    if (!data.success) throw new DynsecCommandError('listClients', 'unexpected answer');
    return new Set(data.data.clients);
  }

  /**
   * A device id may name a broker user that is not a device (the service identity, `admin`, a
   * Home Assistant user). Only clients holding their device role are ours to replace or delete.
   */
  async function assertOwnedOrAbsent(deviceId: string): Promise<void> {
    const [response] = await run([{ command: 'getClient', username: deviceId }]);
    if (response.error !== undefined) {
      check(response, notFound);
      return;
    }
    const client = z
      .object({ client: z.object({ roles: z.array(z.object({ rolename: z.string() })).default([]) }) })
      .safeParse(response.data);
    if (!client.success) throw new DynsecCommandError('getClient', 'unexpected answer');
    if (!client.data.client.roles.some((r) => r.rolename === roleName(deviceId))) {
      throw new ConflictError(`'${deviceId}' is a broker user that is not an edgeloop device`);
    }
  }

  const identities: BrokerIdentities = {
    kind: 'mosquitto-dynsec',
    ready: () => connection.connected(),

    assertAvailable: assertOwnedOrAbsent,

    async provisionDevice(deviceId, secret) {
      await assertOwnedOrAbsent(deviceId);
      const rolename = roleName(deviceId);
      // Replace, not update: the old secret must stop working (re-enrollment) and the role's ACLs
      // follow the current topic tree. One message, so the plugin applies it in this order.
      const [deleteClient, deleteRole, createRole, createClient] = await run([
        { command: 'deleteClient', username: deviceId },
        { command: 'deleteRole', rolename },
        {
          command: 'createRole',
          rolename,
          textname: `edgeloop device ${deviceId}`,
          acls: deviceRoleAcls(deviceId),
        },
        {
          command: 'createClient',
          username: deviceId,
          password: secret,
          clientid: deviceClientId(deviceId),
          textname: `edgeloop device ${deviceId}`,
          roles: [{ rolename, priority: 0 }],
        },
      ]);
      check(deleteClient, notFound);
      check(deleteRole, notFound);
      check(createRole);
      check(createClient);
      log.info({ deviceId }, 'device identity provisioned on mosquitto');
    },

    async removeDevice(deviceId) {
      await assertOwnedOrAbsent(deviceId);
      const [deleteClient, deleteRole] = await run([
        { command: 'deleteClient', username: deviceId },
        { command: 'deleteRole', rolename: roleName(deviceId) },
      ]);
      check(deleteClient, notFound);
      check(deleteRole, notFound);
      log.info({ deviceId }, 'device identity removed from mosquitto');
    },

    async reconcile(enrolled) {
      const known = new Set(enrolled);
      const clients = await listClients();
      const missing = enrolled.filter((id) => !clients.has(id));
      // Our roles name the device they belong to; other clients and roles are the operator's.
      const orphans = (await listRoles())
        .filter((role) => role.startsWith(DEVICE_ROLE_PREFIX))
        .map((role) => role.slice(DEVICE_ROLE_PREFIX.length))
        .filter((id) => !known.has(id));
      for (const id of orphans) await identities.removeDevice(id);
      if (missing.length > 0) {
        log.warn(
          { missing: missing.slice(0, 20), count: missing.length },
          'enrolled devices have no identity on mosquitto; re-enroll them (docs/guides/external-broker.md)',
        );
      }
      return { missing, removed: orphans };
    },
  };
  return identities;
}
