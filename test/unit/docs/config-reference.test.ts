import { readFileSync } from 'node:fs';
import { AgentConfigSchema, ControlPlaneConfigSchema, envToObject } from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';
import { configReferenceMarkdown, configRows } from '../../../cli/docs/config-reference.ts';

const referencePath = new URL('../../../docs/reference/configuration.md', import.meta.url);

describe('configuration reference', () => {
  it('docs/reference/configuration.md matches the config schemas (run `npm run docs:config`)', () => {
    expect(readFileSync(referencePath, 'utf8')).toBe(configReferenceMarkdown());
  });

  it('lists keys with their defaults and the environment variable load-config reads', () => {
    const rows = configRows(ControlPlaneConfigSchema, 'EDGELOOP_CP_');
    const port = rows.find((r) => r.path === 'http.port');
    expect(port).toMatchObject({ defaultValue: 8080, env: 'EDGELOOP_CP_HTTP__PORT' });
    const threshold = configRows(AgentConfigSchema, 'EDGELOOP_AGENT_').find(
      (r) => r.path === 'samples.lowConfidenceThreshold',
    );
    // No fixed default: unset means the running model's recommended thresholds.
    expect(threshold).toMatchObject({ env: 'EDGELOOP_AGENT_SAMPLES__LOW_CONFIDENCE_THRESHOLD' });
    expect(threshold?.defaultValue).toBeUndefined();
    expect(threshold?.description).toMatch(/labelling/);
    expect(threshold?.description).toMatch(/recommended thresholds/);
  });

  it('gives every key of our own config schemas a description', () => {
    // Rollout strategy keys under pipeline.canary.strategy come from the rollout schema.
    const missing = [
      ...configRows(ControlPlaneConfigSchema, 'EDGELOOP_CP_'),
      ...configRows(AgentConfigSchema, 'EDGELOOP_AGENT_'),
    ]
      .filter((r) => !r.description && !r.path.startsWith('pipeline.canary.strategy.'))
      .map((r) => r.path);
    expect(missing).toEqual([]);
  });

  it('names environment variables that load-config maps back onto the documented key', () => {
    for (const [schema, prefix] of [
      [ControlPlaneConfigSchema, 'EDGELOOP_CP_'],
      [AgentConfigSchema, 'EDGELOOP_AGENT_'],
    ] as const) {
      for (const row of configRows(schema, prefix)) {
        if (!row.env) continue;
        const keys: string[] = [];
        let node: unknown = envToObject({ [row.env]: 'x' }, prefix);
        while (node && typeof node === 'object') {
          const [key, value] = Object.entries(node)[0];
          keys.push(key);
          node = value;
        }
        expect(keys.join('.')).toBe(row.path.replace(/\{type="[^"]+"\}/g, ''));
      }
    }
  });
});
