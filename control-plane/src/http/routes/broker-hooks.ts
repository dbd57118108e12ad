/**
 * EMQX-style HTTP authentication and authorization hooks (shared/src/api/routes/broker-hooks.ts):
 * the same rules the embedded broker applies in its aedes hooks, answered as allow/deny/ignore.
 * Secrets are checked by the device authenticator, whose cache and shared reads keep a broker's
 * repeated checks of many devices from costing a database read each. Usernames that are not device ids answer `ignore`, so
 * the broker's next authenticator (its own user database) decides about the control plane's
 * service identity and the operator's users.
 */
import {
  BROKER_HOOK_SECRET_HEADER,
  type BrokerHookResult,
  DEVICE_ID_PATTERN,
  deviceClientId,
  deviceMayPublish,
  deviceMaySubscribe,
  NotFoundError,
  UnauthorizedError,
} from '@edgeloop/shared';
import type { Context } from 'hono';
import { safeEqual } from '../../auth/secrets.ts';
import { SERVICE_USERNAME } from '../../mqtt/service-identity.ts';
import { handlers } from '../contract-routes.ts';
import type { AppDeps, AppEnv } from '../env.ts';

function isDeviceName(username: string): boolean {
  return DEVICE_ID_PATTERN.test(username) && username !== SERVICE_USERNAME;
}

export function brokerHookHandlers(deps: AppDeps) {
  const log = deps.logger.child({ component: 'broker-hooks' });
  const secret = deps.brokerHookSecret ?? null;

  function checkSecret(c: Context<AppEnv>): void {
    // Off unless configured: the routes do not exist for a control plane that did not ask for them.
    if (secret === null) throw new NotFoundError('broker hooks are not enabled (mqtt.hooks)');
    const given = c.req.header(BROKER_HOOK_SECRET_HEADER);
    if (given === undefined || !safeEqual(given, secret))
      throw new UnauthorizedError('bad broker hook secret');
  }

  return handlers({
    authenticateBrokerClient: async ({ body }, c) => {
      checkSecret(c);
      let result: BrokerHookResult = 'ignore';
      if (isDeviceName(body.username)) {
        const ok =
          body.clientid === deviceClientId(body.username) &&
          (await deps.devices.verify(body.username, body.password, body.peerhost || undefined));
        result = ok ? 'allow' : 'deny';
        if (!ok)
          log.info({ username: body.username, clientid: body.clientid }, 'broker hook refused a connection');
      }
      return { status: 200, body: { result, is_superuser: false as const } };
    },

    authorizeBrokerClient: async ({ body }, c) => {
      checkSecret(c);
      let result: BrokerHookResult = 'ignore';
      if (isDeviceName(body.username)) {
        const device = body.username;
        const allowed =
          body.clientid === deviceClientId(device) &&
          (await deps.store.devices.exists(device)) &&
          (body.action === 'publish'
            ? deviceMayPublish(device, body.topic)
            : deviceMaySubscribe(device, body.topic));
        result = allowed ? 'allow' : 'deny';
        if (!allowed) log.warn({ device, action: body.action, topic: body.topic }, 'broker hook refused');
      }
      return { status: 200, body: { result } };
    },
  });
}
