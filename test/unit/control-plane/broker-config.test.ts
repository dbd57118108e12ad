/** Which broker and which service identity the control plane uses, read from config.mqtt. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ControlPlaneConfigSchema,
  deviceAclTopics,
  deviceMayPublish,
  deviceMaySubscribe,
} from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import {
  resolveBroker,
  resolveHookSecret,
  withoutUserinfo,
} from '../../../control-plane/src/mqtt/broker-config.ts';

const mqttOf = (mqtt: unknown) => ControlPlaneConfigSchema.parse({ dataDir: '/tmp/x', mqtt }).mqtt;

describe('resolveBroker', () => {
  it('keeps the embedded broker when nothing external is set', () => {
    expect(resolveBroker(mqttOf({}))).toEqual({ kind: 'embedded' });
  });

  it('reads service credentials from an older externalUrl and drops them from the URL', () => {
    const choice = resolveBroker(mqttOf({ externalUrl: 'mqtt://svc:p%40ss@broker.lan:1883' }));
    expect(choice).toMatchObject({
      kind: 'external',
      url: 'mqtt://broker.lan:1883',
      username: 'svc',
      password: 'p@ss',
    });
  });

  it('reads the password from passwordFile, and refuses dynsec without a service identity', () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgeloop-broker-config-'));
    try {
      writeFileSync(join(dir, 'pw'), 'from-file\n');
      const choice = resolveBroker(
        mqttOf({
          external: {
            url: 'mqtt://m:1883',
            username: 'cp',
            passwordFile: join(dir, 'pw'),
            identities: 'mosquitto-dynsec',
          },
        }),
      );
      expect(choice).toMatchObject({ password: 'from-file', identities: 'mosquitto-dynsec' });
      expect(() =>
        resolveBroker(mqttOf({ external: { url: 'mqtt://m:1883', identities: 'mosquitto-dynsec' } })),
      ).toThrow(/service|user and password/);
      expect(() => resolveBroker(mqttOf({ externalUrl: 'mqtt://a', external: { url: 'mqtt://b' } }))).toThrow(
        /not both/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('strips userinfo only when present', () => {
    expect(withoutUserinfo('mqtts://u:p@h:8883')).toBe('mqtts://h:8883');
    expect(withoutUserinfo('mqtt://h:1883')).toBe('mqtt://h:1883');
  });

  it('turns hooks on only with a secret', () => {
    expect(resolveHookSecret(mqttOf({}))).toBeNull();
    expect(resolveHookSecret(mqttOf({ hooks: { secret: 's'.repeat(16) } }))).toBe('s'.repeat(16));
  });
});

describe('deviceAclTopics', () => {
  it('lists exactly what the embedded ACL allows a device', () => {
    const { publish, subscribe } = deviceAclTopics('cam-a');
    for (const topic of publish.filter((t) => !t.includes('+')))
      expect(deviceMayPublish('cam-a', topic)).toBe(true);
    expect(deviceMayPublish('cam-a', publish.find((t) => t.includes('+'))!.replace('+', 'class'))).toBe(true);
    for (const topic of subscribe) expect(deviceMaySubscribe('cam-a', topic)).toBe(true);
    expect(subscribe.some((t) => deviceMayPublish('cam-a', t))).toBe(false);
  });
});
