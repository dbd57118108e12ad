/**
 * Which broker the control plane uses, read once from config.mqtt: the embedded one, or an
 * external one with the control plane's own service identity. The identity may come from
 * `external.username`/`password`/`passwordFile` or, for configs written before those existed, from
 * the user and password inside `externalUrl`. Either way the URL devices are given never carries
 * it: publicDeviceUrl strips any userinfo.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, type ControlPlaneConfig, type ExternalBrokerConfig } from '@edgeloop/shared';

export type BrokerChoice =
  | { kind: 'embedded' }
  | {
      kind: 'external';
      /** Without userinfo: safe to log. */
      url: string;
      username?: string;
      password?: string;
      identities: ExternalBrokerConfig['identities'];
      commandTimeoutMs: number;
    };

function parseUrl(raw: string, key: string): URL {
  try {
    return new URL(raw);
  } catch {
    throw new ConfigError(`${key} is not a URL`);
  }
}

/** The URL with any user and password removed. */
export function withoutUserinfo(raw: string): string {
  const url = parseUrl(raw, 'broker URL');
  if (url.username === '' && url.password === '') return raw;
  url.username = '';
  url.password = '';
  return url.toString().replace(/\/$/, '');
}

function readSecretFile(file: string, key: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${key}: cannot read ${file}: ${(err as Error).message}`);
  }
  const secret = text.replace(/\r?\n$/, '');
  if (secret === '') throw new ConfigError(`${key}: ${file} is empty`);
  return secret;
}

export function resolveBroker(mqtt: ControlPlaneConfig['mqtt']): BrokerChoice {
  if (mqtt.externalUrl !== undefined && mqtt.external !== undefined) {
    throw new ConfigError('set mqtt.external.url or mqtt.externalUrl, not both');
  }
  const external: ExternalBrokerConfig | undefined =
    mqtt.external ??
    (mqtt.externalUrl === undefined
      ? undefined
      : { url: mqtt.externalUrl, identities: 'none', commandTimeoutMs: 5_000 });
  if (external === undefined) return { kind: 'embedded' };

  const url = parseUrl(external.url, 'mqtt.external.url');
  if (external.password !== undefined && external.passwordFile !== undefined) {
    throw new ConfigError('set mqtt.external.password or passwordFile, not both');
  }
  const password =
    external.password ??
    (external.passwordFile === undefined
      ? undefined
      : readSecretFile(external.passwordFile, 'mqtt.external.passwordFile')) ??
    (url.password === '' ? undefined : decodeURIComponent(url.password));
  const username = external.username ?? (url.username === '' ? undefined : decodeURIComponent(url.username));
  if (external.identities === 'mosquitto-dynsec' && (username === undefined || password === undefined)) {
    throw new ConfigError(
      'mqtt.external.identities "mosquitto-dynsec" needs the control plane\'s own broker user and password',
    );
  }
  return {
    kind: 'external',
    url: withoutUserinfo(external.url),
    username,
    password,
    identities: external.identities,
    commandTimeoutMs: external.commandTimeoutMs,
  };
}

/** The hook secret of mqtt.hooks, or null when the hooks are off. */
export function resolveHookSecret(mqtt: ControlPlaneConfig['mqtt']): string | null {
  const hooks = mqtt.hooks;
  if (hooks === undefined) return null;
  if (hooks.secret !== undefined && hooks.secretFile !== undefined) {
    throw new ConfigError('set mqtt.hooks.secret or secretFile, not both');
  }
  if (hooks.secretFile !== undefined) {
    const secret = readSecretFile(hooks.secretFile, 'mqtt.hooks.secretFile');
    if (secret.length < 16)
      throw new ConfigError('mqtt.hooks.secretFile: the secret needs 16 characters or more');
    return secret;
  }
  return hooks.secret ?? null;
}
