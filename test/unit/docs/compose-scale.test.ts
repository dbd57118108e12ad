/**
 * deploy/compose.scale.yaml is what the "past one machine" guide tells a platform team to run, and
 * CI cannot pull its public images (Postgres, Mosquitto, MinIO, HAProxy). What can be checked here
 * is checked: every file it mounts exists, each replica's configuration (file + environment, as
 * the container sees it) is valid and clustered on shared engines, the balancer knows every
 * replica, and the broker setup grants the shared subscriptions replicas use.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ControlPlaneConfigSchema, loadConfig } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const DEPLOY = resolve(import.meta.dirname, '../../../deploy');

type Service = {
  volumes?: string[];
  environment?: Record<string, string>;
  depends_on?: unknown;
  image?: string;
};
const compose = parse(readFileSync(join(DEPLOY, 'compose.scale.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const replicas = Object.entries(compose.services).filter(([name]) => name.startsWith('control-plane-'));

/** `${NAME}` and `${NAME:-default}` / `${NAME:?message}` filled in as compose would, with test secrets. */
function interpolate(value: string): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::[-?]([^}]*))?\}/g, (_, name: string, fallback?: string) =>
    name.endsWith('PASSWORD') || name.endsWith('KEY') ? `test-${name.toLowerCase()}` : (fallback ?? ''),
  );
}

describe('deploy/compose.scale.yaml', () => {
  it('mounts only files that exist in the repository', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0];
        if (!source.startsWith('.')) continue; // a named volume
        expect(existsSync(join(DEPLOY, source)), `${name} mounts ${source}`).toBe(true);
      }
    }
  });

  it('runs two replicas of one valid, clustered configuration on Postgres, Mosquitto and S3', () => {
    expect(replicas.map(([name]) => name)).toEqual(['control-plane-a', 'control-plane-b']);
    const ids = new Set<string>();
    for (const [name, service] of replicas) {
      const env = Object.fromEntries(
        Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]),
      );
      const config = loadConfig(ControlPlaneConfigSchema, {
        file: join(DEPLOY, 'config/control-plane-scale.json'),
        env,
        envPrefix: 'EDGELOOP_CP_',
      });
      expect(config.cluster.enabled, name).toBe(true);
      expect(config.mqtt.external?.identities, name).toBe('mosquitto-dynsec');
      expect(config.mqtt.external?.password, name).toBe('test-edgeloop_mqtt_password');
      expect(config.objectStore.type, name).toBe('s3');
      expect(config.store, name).toMatchObject({
        type: 'postgres',
        url: 'postgres://edgeloop:test-postgres_password@postgres:5432/edgeloop',
      });
      ids.add(config.cluster.replicaId ?? '');
    }
    expect(ids.size).toBe(2);
  });

  it('balances over every replica and grants the broker shared subscriptions', () => {
    const haproxy = readFileSync(join(DEPLOY, 'haproxy/haproxy.cfg'), 'utf8');
    for (const [name] of replicas) expect(haproxy).toContain(`${name}:8080 check`);
    expect(readFileSync(join(DEPLOY, 'mosquitto/setup-dynsec.sh'), 'utf8')).toContain(
      "subscribePattern '$share/+/edgeloop/#'",
    );
  });
});
