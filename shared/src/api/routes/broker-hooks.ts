/**
 * HTTP hooks a clustered broker (EMQX 5 and alike) calls to authenticate a client and to authorize
 * each publish and subscribe, answered in EMQX's HTTP authn/authz format. The broker proves itself
 * with a shared secret header, not a user: these routes are open to anyone and check it themselves
 * (docs/guides/external-broker.md).
 */
import { z } from 'zod';
import { defineRoute } from '../route.ts';

/** The header that carries `mqtt.hooks.secret`. */
export const BROKER_HOOK_SECRET_HEADER = 'x-edgeloop-hook-secret';

const Text = z.string().max(1024);

/**
 * EMQX body template: {"username": "${username}", "password": "${password}", "clientid":
 * "${clientid}", "peerhost": "${peerhost}"}. peerhost (the client's address) is what failed
 * attempts are counted against; without it every client of the broker shares one budget, and a
 * few wrong secrets from anywhere would hold up every device's connect.
 */
export const BrokerAuthnRequestSchema = z.object({
  username: Text,
  password: Text,
  clientid: Text,
  peerhost: z.string().max(64).optional(),
});
export type BrokerAuthnRequest = z.infer<typeof BrokerAuthnRequestSchema>;

/** `ignore` hands the decision to the broker's next authenticator (its own user for the control plane). */
export const BrokerHookResultSchema = z.enum(['allow', 'deny', 'ignore']);
export type BrokerHookResult = z.infer<typeof BrokerHookResultSchema>;

export const BrokerAuthnResponseSchema = z.object({
  result: BrokerHookResultSchema,
  is_superuser: z.literal(false),
});

/** EMQX body template: {"username": "${username}", "clientid": "${clientid}", "topic": "${topic}", "action": "${action}"}. */
export const BrokerAuthzRequestSchema = z.object({
  username: Text,
  clientid: Text,
  topic: z.string().min(1).max(65_535),
  action: z.enum(['publish', 'subscribe']),
});
export type BrokerAuthzRequest = z.infer<typeof BrokerAuthzRequestSchema>;

export const BrokerAuthzResponseSchema = z.object({ result: BrokerHookResultSchema });

export const brokerHookRoutes = {
  authenticateBrokerClient: defineRoute({
    id: 'authenticateBrokerClient',
    method: 'POST',
    path: '/broker/authenticate',
    tag: 'broker',
    summary: 'Broker hook: may this client connect (EMQX HTTP authentication)',
    description: `Needs the ${BROKER_HOOK_SECRET_HEADER} header. Devices get allow or deny; other usernames ignore.`,
    access: [],
    body: { type: 'json', schema: BrokerAuthnRequestSchema },
    bodyLimit: 8 * 1024,
    responses: { 200: { type: 'json', schema: BrokerAuthnResponseSchema, description: 'the decision' } },
  }),
  authorizeBrokerClient: defineRoute({
    id: 'authorizeBrokerClient',
    method: 'POST',
    path: '/broker/authorize',
    tag: 'broker',
    summary: 'Broker hook: may this client publish or subscribe to a topic (EMQX HTTP authorization)',
    description: `Needs the ${BROKER_HOOK_SECRET_HEADER} header. The device topic ACL; other usernames ignore.`,
    access: [],
    body: { type: 'json', schema: BrokerAuthzRequestSchema },
    bodyLimit: 72 * 1024,
    responses: { 200: { type: 'json', schema: BrokerAuthzResponseSchema, description: 'the decision' } },
  }),
} as const;
