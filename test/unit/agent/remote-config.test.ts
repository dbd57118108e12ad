/**
 * The agent's remote-config runner with hooks written here: it applies only changed sections,
 * confirms or reverts on the health answer, keeps the last good configuration across restarts,
 * refuses what its own schema refuses, and lets a newer target supersede one still proving itself.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AgentConfig,
  AgentConfigSchema,
  type AppliedConfig,
  createLogger,
  type DesiredConfig,
  type RemoteSection,
  resolveCameras,
  settingsRevision,
} from '@edgeloop/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RemoteConfig, type RemoteConfigHooks } from '../../../agent/src/config/remote-config.ts';

const logger = createLogger({ level: 'silent' });
let dir: string;
let local: AgentConfig;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloop-remote-config-'));
  local = AgentConfigSchema.parse({
    controlPlaneUrl: 'http://127.0.0.1:1',
    dataDir: dir,
    trustedKeys: [{ keyId: 'k', publicKeyPem: 'pem' }],
  });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

let clock = 0;
function desired(settings: DesiredConfig['settings']): DesiredConfig {
  clock += 1000;
  return {
    protocol: 1,
    revision: settingsRevision(settings),
    settings,
    updatedAt: new Date(Date.UTC(2026, 0, 1) + clock).toISOString(),
  };
}

/** Hooks that record what they were asked; `health` decides each health check. */
function recorder(health: (changed: RemoteSection[], signal: AbortSignal) => Promise<string | null>) {
  const applied: RemoteSection[][] = [];
  const reports: AppliedConfig[] = [];
  const events: string[] = [];
  const hooks: RemoteConfigHooks = {
    apply: async (_next, _previous, changed) => {
      applied.push(changed);
    },
    healthy: health,
    report: (a) => reports.push(a),
    event: (type) => events.push(type),
  };
  return { hooks, applied, reports, events };
}

/** A health check that never passes: it answers only when the runner gives up on it. */
function untilAborted(signal: AbortSignal): Promise<string> {
  if (signal.aborted) return Promise.resolve('aborted');
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve('aborted')));
}

describe('RemoteConfig', () => {
  it('applies only what changed, persists it, and starts from it after a restart', async () => {
    const remote = await RemoteConfig.open({ local, dataDir: dir, logger, deadlineMs: 1000 });
    const r = recorder(async () => null);
    remote.start(r.hooks);
    const change = desired({ samples: { lowConfidenceThreshold: 0.3 } });
    remote.offer(change);
    await remote.idle();
    expect(r.applied).toEqual([['samples']]);
    expect(remote.applied()).toMatchObject({ revision: change.revision, status: 'applied' });
    expect(r.events).toEqual(['config-applied']);
    // A repeat (MQTT's retained copy after a reconnect) changes nothing.
    remote.offer({ ...change, updatedAt: new Date(Date.UTC(2026, 1, 1)).toISOString() });
    await remote.idle();
    expect(r.applied).toHaveLength(1);
    await remote.close();

    const again = await RemoteConfig.open({ local, dataDir: dir, logger });
    expect(again.current().samples.lowConfidenceThreshold).toBe(0.3);
    expect(again.applied().revision).toBe(change.revision);
  });

  it('reverts to the last good configuration when the health check fails, and does not retry it', async () => {
    const remote = await RemoteConfig.open({ local, dataDir: dir, logger, deadlineMs: 1000 });
    const r = recorder(async (changed) => (changed.includes('camera') ? 'no frame' : null));
    remote.start(r.hooks);
    const good = desired({ samples: { maxPerMinute: 3 } });
    remote.offer(good);
    await remote.idle();
    const bad = desired({ samples: { maxPerMinute: 3 }, camera: { type: 'folder', path: '/nowhere' } });
    remote.offer(bad);
    await remote.idle();
    expect(r.applied).toEqual([['samples'], ['camera'], ['camera']]);
    expect(remote.applied()).toMatchObject({
      revision: good.revision,
      status: 'reverted',
      failedRevision: bad.revision,
    });
    expect(resolveCameras(remote.current())[0].camera.type).toBe('synthetic');
    expect(r.events).toEqual(['config-applied', 'config-reverted']);
    remote.offer({ ...bad, updatedAt: new Date(Date.UTC(2027, 0, 1)).toISOString() });
    await remote.idle();
    expect(r.applied).toHaveLength(3);
    await remote.close();
  });

  it('refuses a fragment its own schema refuses and keeps running what it ran', async () => {
    const remote = await RemoteConfig.open({ local, dataDir: dir, logger });
    const r = recorder(async () => null);
    remote.start(r.hooks);
    const broken = desired({ samples: { lowConfidenceThreshold: 7 } });
    remote.offer(broken);
    await remote.idle();
    expect(r.applied).toEqual([]);
    expect(remote.applied()).toMatchObject({
      revision: null,
      status: 'rejected',
      failedRevision: broken.revision,
    });
    expect(remote.applied().detail).toMatch(/samples\.lowConfidenceThreshold/);
    await remote.close();
  });

  it('lets a newer target supersede one still proving itself; a failure then reverts to the last confirmed one', async () => {
    const remote = await RemoteConfig.open({ local, dataDir: dir, logger, deadlineMs: 5000 });
    let release: (() => void) | null = null;
    const r = recorder(
      (changed, signal) =>
        new Promise((resolve) => {
          if (!changed.includes('frames')) return resolve(changed.includes('camera') ? 'no frame' : null);
          release = () => resolve(null);
          signal.addEventListener('abort', () => resolve('aborted'));
        }),
    );
    remote.start(r.hooks);
    remote.offer(desired({ frames: { maxFps: 2 } }));
    while (!release) await new Promise((resolve) => setImmediate(resolve));
    const broken = desired({ frames: { maxFps: 2 }, camera: { type: 'folder', path: '/nowhere' } });
    remote.offer(broken);
    await remote.idle();
    // The unconfirmed frames change was superseded; the broken camera reverted to the local config.
    expect(remote.applied()).toMatchObject({
      revision: null,
      status: 'reverted',
      failedRevision: broken.revision,
    });
    expect(remote.current().frames.maxFps).toBeUndefined();
    await remote.close();
  });

  it('an agent that stopped during a check starts on the candidate once; stopping again reverts it unseen', async () => {
    const first = await RemoteConfig.open({ local, dataDir: dir, logger, deadlineMs: 60_000 });
    first.start(recorder((_c, signal) => untilAborted(signal)).hooks);
    const candidate = desired({ frames: { maxFps: 3 } });
    first.offer(candidate);
    while (first.applied().status !== 'applying') await new Promise((resolve) => setImmediate(resolve));
    await first.close();

    // Second start: runs the candidate and checks it (all sections); it stops again mid-check.
    const second = await RemoteConfig.open({ local, dataDir: dir, logger, deadlineMs: 60_000 });
    expect(second.current().frames.maxFps).toBe(3);
    const checked: RemoteSection[][] = [];
    second.start(
      recorder((changed, signal) => {
        checked.push(changed);
        return untilAborted(signal);
      }).hooks,
    );
    while (checked.length === 0) await new Promise((resolve) => setImmediate(resolve));
    expect(checked[0]).toEqual(expect.arrayContaining(['camera', 'cameras', 'frames']));
    await second.close();

    // Third start: the candidate may be what stops the agent; it is reverted without running.
    const third = await RemoteConfig.open({ local, dataDir: dir, logger });
    expect(third.current().frames.maxFps).toBeUndefined();
    const r = recorder(async () => null);
    third.start(r.hooks);
    await third.idle();
    expect(r.applied).toEqual([]);
    expect(third.applied()).toMatchObject({ status: 'reverted', failedRevision: candidate.revision });
    expect(third.applied().detail).toMatch(/stopped during its health check twice/);
    expect(r.events).toEqual(['config-reverted']);
    await third.close();
  });
});
