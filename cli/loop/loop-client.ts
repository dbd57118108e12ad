/** The admin client every learning-loop command builds from flags or the environment. */
import { ConfigError, LoopApiClient } from '@edgeloop/shared';

export const CLIENT_OPTIONS = {
  'control-plane': { type: 'string' },
  'admin-token': { type: 'string' },
  actor: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const CLIENT_HELP = `  --control-plane URL   control plane (env EDGELOOP_URL)
  --admin-token T       admin token (env EDGELOOP_ADMIN_TOKEN)
  --actor NAME          who you are, recorded with what you do (env EDGELOOP_ACTOR, default admin)
  --json                print JSON
  -h, --help            show this help`;

export function loopClient(values: {
  'control-plane'?: string;
  'admin-token'?: string;
  actor?: string;
}): LoopApiClient {
  const url = values['control-plane'] ?? process.env.EDGELOOP_URL;
  const token = values['admin-token'] ?? process.env.EDGELOOP_ADMIN_TOKEN;
  if (!url || !token) {
    throw new ConfigError(
      'this needs --control-plane URL and --admin-token T (or EDGELOOP_URL and EDGELOOP_ADMIN_TOKEN)',
    );
  }
  return new LoopApiClient(url, token, values.actor ?? process.env.EDGELOOP_ACTOR ?? 'admin');
}

export function print(json: boolean | undefined, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}
