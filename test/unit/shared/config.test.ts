import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AgentConfigSchema,
  ConfigError,
  ControlPlaneConfigSchema,
  loadConfig,
  resolveCameras,
} from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';

const key = { keyId: 'k1', publicKeyPem: 'pem' };

describe('config loading', () => {
  it('merges defaults, file and environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'agent.json');
    writeFileSync(
      file,
      JSON.stringify({ controlPlaneUrl: 'http://127.0.0.1:8080', dataDir: dir, trustedKeys: [key] }),
    );
    const config = loadConfig(AgentConfigSchema, {
      file,
      envPrefix: 'EDGELOOP_AGENT_',
      env: { EDGELOOP_AGENT_SAMPLES__LOW_CONFIDENCE_THRESHOLD: '0.4', EDGELOOP_AGENT_NAME: 'door' },
    });
    expect(config.samples.lowConfidenceThreshold).toBe(0.4);
    expect(config.samples.maxQueued).toBe(1000);
    expect(config.name).toBe('door');
    expect(resolveCameras(config)).toMatchObject([{ id: 'default', camera: { type: 'synthetic' } }]);
  });

  it('names the bad key and the source', () => {
    let error: unknown;
    try {
      loadConfig(ControlPlaneConfigSchema, {
        envPrefix: 'EDGELOOP_CP_',
        env: { EDGELOOP_CP_DATA_DIR: '/tmp/x', EDGELOOP_CP_HTTP__PORT: '99999' },
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('CONFIG_INVALID');
    expect((error as Error).message).toMatch(/http\.port/);
    expect((error as Error).message).toMatch(/EDGELOOP_CP_/);
  });

  it('reports a missing or broken file clearly', () => {
    expect(() =>
      loadConfig(ControlPlaneConfigSchema, { file: '/nonexistent.json', envPrefix: 'X_', env: {} }),
    ).toThrow(/cannot read config file \/nonexistent\.json/);
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'bad.json'), '{ not json');
    expect(() =>
      loadConfig(ControlPlaneConfigSchema, { file: join(dir, 'bad.json'), envPrefix: 'X_', env: {} }),
    ).toThrow(/not valid JSON/);
  });

  it('rejects an unknown camera type naming the field', () => {
    expect(() =>
      loadConfig(AgentConfigSchema, {
        envPrefix: 'X_',
        env: {},
        overrides: {
          controlPlaneUrl: 'http://h:1',
          dataDir: '/d',
          trustedKeys: [key],
          camera: { type: 'webcam9000' },
        },
      }),
    ).toThrow(/camera\.type/);
  });

  describe('cameras', () => {
    const base = {
      controlPlaneUrl: 'http://127.0.0.1:8080',
      dataDir: '/tmp/x',
      trustedKeys: [{ keyId: 'k', publicKeyPem: 'pem' }],
    };

    it('resolves each camera with its own policies, or the device-level ones', () => {
      const config = AgentConfigSchema.parse({
        ...base,
        frames: { maxFps: 2 },
        samples: { lowConfidenceThreshold: 0.3, maxQueued: 50 },
        cameras: [
          { id: 'door', type: 'ffmpeg', input: ['-f', 'lavfi', '-i', 'testsrc'], frames: { maxFps: 5 } },
          { id: 'yard', type: 'synthetic', samples: { lowConfidenceThreshold: 0.8 } },
        ],
      });
      const [door, yard] = resolveCameras(config);
      expect(door).toMatchObject({ id: 'door', camera: { type: 'ffmpeg' }, frames: { maxFps: 5 } });
      expect(door.samples.lowConfidenceThreshold).toBe(0.3);
      expect(yard).toMatchObject({ id: 'yard', camera: { type: 'synthetic' }, frames: { maxFps: 2 } });
      expect(yard.samples.lowConfidenceThreshold).toBe(0.8);
      // The per-camera entry's own keys do not leak into the backend's config.
      expect(door.camera).not.toHaveProperty('id');
      expect(door.camera).not.toHaveProperty('frames');
    });

    it('keeps the single camera key working as the camera "default"', () => {
      const config = AgentConfigSchema.parse({ ...base, camera: { type: 'folder', path: '/frames' } });
      expect(resolveCameras(config)).toMatchObject([{ id: 'default', camera: { type: 'folder' } }]);
    });

    it('refuses camera and cameras together, repeated ids and bad ids, naming the key', () => {
      const issues = (input: object) => {
        const result = AgentConfigSchema.safeParse({ ...base, ...input });
        return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
      };
      expect(issues({ camera: { type: 'synthetic' }, cameras: [{ id: 'a', type: 'synthetic' }] })).toEqual([
        'cameras: give camera or cameras, not both',
      ]);
      expect(
        issues({
          cameras: [
            { id: 'a', type: 'synthetic' },
            { id: 'a', type: 'synthetic' },
          ],
        }),
      ).toEqual(["cameras.1.id: camera id 'a' repeats"]);
      expect(issues({ cameras: [{ id: 'Front Door', type: 'synthetic' }] })[0]).toMatch(/^cameras\.0\.id: /);
      expect(issues({ cameras: [] })[0]).toMatch(/^cameras: /);
    });
  });
});
