import {
  AgentConfigSchema,
  changedSections,
  deviceMaySubscribe,
  mergeSettings,
  REDACTED,
  redactSettings,
  redactText,
  restoreRedacted,
  settingsRevision,
  topics,
  validateFragment,
} from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';

const refused = (fragment: unknown) => {
  try {
    validateFragment(fragment);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('accepted');
};

describe('remote agent settings', () => {
  it("validates with the agent's schema and names every bad key", () => {
    expect(validateFragment({ samples: { lowConfidenceThreshold: 0.4 } })).toEqual({
      samples: { lowConfidenceThreshold: 0.4 },
    });
    expect(refused({ samples: { lowConfidenceThreshold: 1.5 } })).toMatch(
      /samples\.lowConfidenceThreshold: Too big/,
    );
    expect(refused({ samples: { lowConfidenceTreshold: 0.4 } })).toMatch(
      /samples\.lowConfidenceTreshold: not a setting/,
    );
    expect(refused({ camera: { type: 'folder', path: '/x', stallTimeoutMs: 5000 } })).toMatch(
      /camera\.stallTimeoutMs: not a setting/,
    );
    expect(refused({ camera: { type: 'folder' } })).toMatch(/camera\.path/);
    expect(refused({ controlPlaneUrl: 'http://x' })).toMatch(/controlPlaneUrl: cannot be set remotely/);
    expect(refused({ frames: { roi: { x: 0.5, y: 0, width: 0.8, height: 0.5 } } })).toMatch(/frames\.roi/);
    // Per-class thresholds are a record: any class name is a key, its value is still checked.
    expect(validateFragment({ samples: { classThresholds: { cat: 0.3 } } })).toBeTruthy();
    expect(refused({ samples: { classThresholds: { cat: 3 } } })).toMatch(/samples\.classThresholds\.cat/);
  });

  it('merges key by key, later layers win, camera and roi are replaced whole', () => {
    const group = {
      samples: { lowConfidenceThreshold: 0.5, maxPerMinute: 10 },
      camera: { type: 'rtsp', url: 'rtsp://a', fps: 2 },
    };
    const device = { samples: { maxPerMinute: 3 }, camera: { type: 'folder', path: '/f' } };
    expect(mergeSettings(group, device)).toEqual({
      samples: { lowConfidenceThreshold: 0.5, maxPerMinute: 3 },
      camera: { type: 'folder', path: '/f' },
    });
    expect(
      mergeSettings(
        { frames: { roi: { x: 0, y: 0, width: 1, height: 1 }, maxFps: 2 } },
        { frames: { roi: { x: 0.1, y: 0.1, width: 0.5, height: 0.5 } } },
      ),
    ).toEqual({ frames: { roi: { x: 0.1, y: 0.1, width: 0.5, height: 0.5 }, maxFps: 2 } });
    expect(group.samples.maxPerMinute).toBe(10); // inputs untouched
  });

  it('gives equal fragments one revision whatever their key order, and none to an empty one', () => {
    expect(settingsRevision({})).toBeNull();
    expect(settingsRevision({ samples: { a: 1, b: 2 } })).toBe(settingsRevision({ samples: { b: 2, a: 1 } }));
    expect(settingsRevision({ samples: { a: 1 } })).not.toBe(settingsRevision({ samples: { a: 2 } }));
    expect(
      changedSections({ samples: { a: 1 }, camera: { t: 1 } }, { samples: { a: 2 }, camera: { t: 1 } }),
    ).toEqual(['samples']);
  });

  it('redacts URL passwords for readers and restores them when a reader saves the fragment back', () => {
    const stored = {
      camera: { type: 'rtsp', url: 'rtsp://admin:s3cret@10.0.0.5:554/h264' },
    };
    const shown = redactSettings(stored);
    expect(JSON.stringify(shown)).not.toContain('s3cret');
    expect(shown.camera.url).toBe(`rtsp://admin:${REDACTED}@10.0.0.5:554/h264`);
    expect(restoreRedacted(shown, stored)).toEqual(stored);
    // A new URL with *** is not silently given the old password of another host.
    const moved = { camera: { type: 'rtsp', url: `rtsp://admin:${REDACTED}@10.0.0.6/h264` } };
    expect(restoreRedacted(moved, stored)).toEqual(moved);
    // ffmpeg inputs are arguments: each URL among them is redacted too.
    expect(redactSettings({ camera: { input: ['-i', 'rtsp://u:p@h/s'] } })).toEqual({
      camera: { input: ['-i', `rtsp://u:${REDACTED}@h/s`] },
    });
  });

  it('redacts every URL password in free text (a capture error quoting its URL)', () => {
    expect(redactText('rtsp://u:p@h/s: Connection refused | http://a:b@c/x')).toBe(
      `rtsp://u:${REDACTED}@h/s: Connection refused | http://a:${REDACTED}@c/x`,
    );
    // A bare userinfo may be a token (`https://TOKEN@host`): hidden too.
    expect(redactText('rtsp://token@h/s')).toBe(`rtsp://${REDACTED}@h/s`);
    // A presigned S3 URL is a bearer credential: its signature and credential are hidden.
    const presigned =
      'https://s3.example.com/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261206' +
      '&X-Amz-Date=20261206T054343Z&X-Amz-Security-Token=FQo&X-Amz-Signature=27996f49b5';
    expect(redactText(presigned)).toBe(
      'https://s3.example.com/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=***' +
        '&X-Amz-Date=20261206T054343Z&X-Amz-Security-Token=***&X-Amz-Signature=***',
    );
  });

  it('lets a device subscribe to its own config topic only', () => {
    expect(topics.config('cam-01')).toBe('edgeloop/v1/devices/cam-01/config');
    expect(deviceMaySubscribe('cam-01', topics.config('cam-01'))).toBe(true);
    expect(deviceMaySubscribe('cam-01', topics.config('cam-02'))).toBe(false);
    expect(deviceMaySubscribe('cam-01', 'edgeloop/v1/devices/+/config')).toBe(false);
  });

  it('sets several cameras remotely: `cameras` replaces a local `camera` and the other way round', () => {
    const cameras = [
      { id: 'door', type: 'synthetic', fps: 2 },
      { id: 'yard', type: 'synthetic', fps: 4 },
    ];
    expect(validateFragment({ cameras })).toEqual({ cameras });
    expect(refused({ camera: { type: 'synthetic' }, cameras })).toMatch(/give camera or cameras, not both/);
    expect(refused({ cameras: [{ id: 'door', type: 'synthetic', fps: 2, colour: 'red' }] })).toMatch(
      /cameras\.0\.colour: not a setting/,
    );
    const local = AgentConfigSchema.parse({
      controlPlaneUrl: 'http://127.0.0.1:1',
      dataDir: '/tmp/x',
      trustedKeys: [{ keyId: 'k1', publicKeyPem: 'PEM' }],
      camera: { type: 'synthetic' },
    });
    const merged = AgentConfigSchema.parse(mergeSettings(local, { cameras }));
    expect(merged.camera).toBeUndefined();
    expect(merged.cameras?.map((c) => c.id)).toEqual(['door', 'yard']);
    const back = AgentConfigSchema.parse(mergeSettings(merged, { camera: { type: 'synthetic' } }));
    expect(back.cameras).toBeUndefined();
    expect(changedSections(merged, back)).toEqual(['camera', 'cameras']);
  });
});
