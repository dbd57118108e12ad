/**
 * The control-plane connection every admin command shares: one definition of --control-plane,
 * --admin-token and --actor (with their env vars), one place that turns them into a client.
 */
import { ApiClient, ConfigError, LoopApiClient } from '@edgeloop/shared';
import type { OptionDefs } from './option-types.ts';

export const CONNECTION_OPTIONS = {
  'control-plane': {
    type: 'string',
    value: 'URL',
    description: 'control plane base URL',
    env: 'EDGELOOP_URL',
  },
  'admin-token': {
    type: 'string',
    value: 'T',
    description: 'admin token',
    env: 'EDGELOOP_ADMIN_TOKEN',
  },
} as const satisfies OptionDefs;

export const ACTOR_OPTION = {
  actor: {
    type: 'string',
    value: 'NAME',
    description: 'who you are, recorded with what you do',
    env: 'EDGELOOP_ACTOR',
    default: 'admin',
  },
} as const satisfies OptionDefs;

export interface Connection {
  'control-plane'?: string;
  'admin-token'?: string;
}

/** ConfigError (CONFIG_INVALID, exit 2) when the URL or token is in neither flags nor env. */
function required(values: Connection): { url: string; token: string } {
  const url = values['control-plane'];
  const token = values['admin-token'];
  if (!url || !token) {
    throw new ConfigError(
      'this needs --control-plane URL and --admin-token T (or EDGELOOP_URL and EDGELOOP_ADMIN_TOKEN)',
    );
  }
  return { url, token };
}

export function apiClient(values: Connection & { actor?: string }): ApiClient {
  const { url, token } = required(values);
  return new ApiClient(url, token, values.actor ?? 'admin');
}

export function loopClient(values: Connection & { actor?: string }): LoopApiClient {
  const { url, token } = required(values);
  return new LoopApiClient(url, token, values.actor ?? 'admin');
}

/** What every learning-loop command (dataset, label, model, pipeline) takes. */
export const LOOP_OPTIONS = {
  ...CONNECTION_OPTIONS,
  ...ACTOR_OPTION,
  json: { type: 'boolean', description: 'print JSON' },
} as const satisfies OptionDefs;
