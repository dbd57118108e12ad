/**
 * Remote configuration end to end: a real control plane (HTTP, SQLite, embedded broker) and a real
 * agent with a folder camera. An invalid configuration is refused by name and never reaches the
 * agent; a valid sample threshold change is applied without restarting the camera; a camera
 * switched to a source that delivers nothing is reverted and the revert is reported; camera
 * passwords are never echoed to API readers.
 */
import { join } from 'node:path';
import {
  AgentConfigSchema,
  ApiClient,
  type AppliedConfig,
  apiRoutes,
  DeviceConfigViewSchema,
  EdgeloopError,
  ErrorBodySchema,
} from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Agent, startAgent } from '../../../agent/src/main.ts';
import { configCommand } from '../../../cli/commands/config.ts';
import { runCommand } from '../../../cli/options/run-command.ts';
import { putFragment, writeColourFrames } from '../../helpers/agent-config-fixtures.ts';
import {
  createToken,
  LogCapture,
  startTestControlPlane,
  type TestControlPlane,
} from '../control-plane/helpers.ts';
import { waitUntil } from '../rollouts/fleet.ts';

const DEVICE = 'cam-config-01';
let t: TestControlPlane;
let api: ApiClient;
let agent: Agent;
let frames: string;
const agentLogs = new LogCapture();

const put = (scope: string, key: string, settings: unknown, dryRun?: boolean) =>
  putFragment(t, scope, key, settings, dryRun);

async function deviceConfig() {
  return DeviceConfigViewSchema.parse(await api.call(apiRoutes.getDeviceConfig, { params: { id: DEVICE } }));
}

/** Runs `edgeloop config …` in this process and returns what it printed. */
async function cli(args: string[]): Promise<string> {
  let printed = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    printed += String(chunk);
    return true;
  });
  try {
    const code = await runCommand(configCommand, [
      ...args,
      '--json',
      '--control-plane',
      t.cp.httpUrl,
      '--admin-token',
      t.cp.adminToken,
    ]);
    expect(code).toBe(0);
  } finally {
    write.mockRestore();
  }
  return printed;
}

const cameraRestartsForConfig = () =>
  agentLogs.entries.filter((e) => e.msg === 'restarting the camera for the new configuration').length;

beforeAll(async () => {
  t = await startTestControlPlane();
  api = new ApiClient(t.cp.httpUrl, t.cp.adminToken);
  frames = await writeColourFrames(join(t.dataDir, 'frames'));
  const token = await createToken(t, { group: 'dock' });
  agent = await startAgent(
    AgentConfigSchema.parse({
      controlPlaneUrl: t.cp.httpUrl,
      dataDir: join(t.dataDir, 'agent'),
      enrollmentToken: token,
      deviceId: DEVICE,
      trustedKeys: [t.cp.signingPublicKey],
      camera: { type: 'folder', path: frames, fps: 20, loop: true },
      reportIntervalMs: 300,
      logLevel: 'info',
    }),
    {
      logger: agentLogs.logger,
      retry: { baseMs: 100, maxMs: 300 },
      httpTimeoutMs: 2_000,
      configDeadlineMs: 2_500,
    },
  );
  await waitUntil(
    async () => agent.stats().health.fps >= 0 && (await t.cp.store.devices.get(DEVICE))?.online,
    'agent online',
  );
}, 30_000);

afterAll(async () => {
  await agent?.close();
  await t?.stop();
});

describe('remote configuration', () => {
  it('refuses an invalid configuration with the key named, and nothing reaches the device', async () => {
    const cases: [unknown, RegExp][] = [
      [{ samples: { lowConfidenceThreshold: 2 } }, /samples\.lowConfidenceThreshold: Too big/],
      [{ samples: { lowConfidenceTreshold: 0.3 } }, /samples\.lowConfidenceTreshold: not a setting/],
      [{ camera: { type: 'rtsp', url: 'http://not-rtsp' } }, /camera\.url/],
      [{ trustedKeys: [] }, /trustedKeys/],
    ];
    for (const [settings, message] of cases) {
      const res = await put('group', 'dock', settings);
      expect(res.status, JSON.stringify(settings)).toBe(400);
      const body = ErrorBodySchema.parse(await res.json());
      expect(body.error.code).toBe('VALIDATION_FAILED');
      expect(body.error.message).toMatch(message);
    }
    expect((await t.api('/config/fragments/group/dock', { admin: true })).status).toBe(404);
    const view = await deviceConfig();
    expect(view.desired.revision).toBeNull();
    await waitUntil(async () => await t.cp.store.config.getApplied(DEVICE), 'first config report');
    expect(agent.configStatus()).toMatchObject({ revision: null, status: 'applied' });
  });

  it('applies a valid change without restarting the camera and reports the revision', async () => {
    const dry = await put('group', 'dock', { samples: { lowConfidenceThreshold: 0.3 } }, true);
    expect(dry.status).toBe(200);
    expect(await dry.json()).toMatchObject({ dryRun: true, devices: [DEVICE] });
    expect((await deviceConfig()).desired.revision).toBeNull();

    // The operator's way: the CLI, which merges into the stored fragment.
    const out = await cli(['set', '--group', 'dock', '--set', 'samples.lowConfidenceThreshold=0.3']);
    const { fragment, devices } = JSON.parse(out) as { fragment: { revision: string }; devices: string[] };
    expect(devices).toEqual([DEVICE]);
    const view = await waitUntil(async () => {
      const v = await deviceConfig();
      return v.applied?.revision === fragment.revision && v.applied.status === 'applied' ? v : null;
    }, 'the agent applied the new revision');
    expect(view.inSync).toBe(true);
    expect(view.desired.layers).toEqual([expect.objectContaining({ scope: 'group', key: 'dock' })]);
    expect(agent.currentConfig().samples.lowConfidenceThreshold).toBe(0.3);
    expect(agent.currentConfig().camera).toMatchObject({ type: 'folder', path: frames });
    expect(cameraRestartsForConfig()).toBe(0);
    expect(JSON.parse(await cli(['show', DEVICE]))).toMatchObject({ inSync: true });
  });

  it('reverts a configuration that breaks the camera, and reports the revert', async () => {
    const good = (await deviceConfig()).applied?.revision;
    const res = await put('device', DEVICE, {
      camera: { type: 'folder', path: join(frames, 'missing', '*.jpg'), fps: 20 },
    });
    expect(res.status).toBe(200);
    // The device's effective revision merges the group's fragment with this one.
    const bad = (await deviceConfig()).desired.revision;
    expect(bad).not.toBe(good);
    const reverted = await waitUntil(
      async () => {
        const applied = (await t.cp.store.config.getApplied(DEVICE)) as AppliedConfig | null;
        return applied?.status === 'reverted' ? applied : null;
      },
      'the revert reported to the control plane',
      15_000,
    );
    expect(reverted).toMatchObject({ revision: good, failedRevision: bad });
    expect(reverted.detail).toMatch(/camera 'default' is failing/);
    expect(agent.currentConfig().camera).toMatchObject({ type: 'folder', path: frames });
    // The revert restored a camera that delivers frames, and the event reached the control plane.
    await waitUntil(
      async () => (await t.cp.store.events.list(DEVICE)).some((e) => e.type === 'config-reverted'),
      'config-reverted event',
    );
    const view = await deviceConfig();
    expect(view).toMatchObject({ inSync: false, applied: { status: 'reverted' } });
    // Offered again (as after a reconnect), the failed revision is not tried again.
    const restartsBefore = cameraRestartsForConfig();
    await api.call(apiRoutes.updateDevice, { params: { id: DEVICE }, body: { protocol: 1, tags: ['yard'] } });
    await agentLogs.waitFor((e) => e.msg === 'ignoring a remote config that already failed here');
    expect(cameraRestartsForConfig()).toBe(restartsBefore);
    // Removing the bad fragment brings desired and applied back together.
    await api.call(apiRoutes.deleteConfigFragment, { params: { scope: 'device', key: DEVICE } });
    await waitUntil(async () => {
      const v = await deviceConfig();
      return v.inSync && v.applied?.status === 'applied';
    }, 'in sync again');
  }, 30_000);

  it('never echoes camera passwords to API readers, and keeps them when saved back redacted', async () => {
    const url = 'rtsp://viewer:hunter2@10.0.0.9:554/stream1';
    const res = await put('tag', 'lobby', { camera: { type: 'rtsp', url } });
    expect(res.status).toBe(200);
    const text = JSON.stringify(await res.json());
    expect(text).not.toContain('hunter2');
    expect(text).toContain('rtsp://viewer:***@10.0.0.9:554/stream1');
    const read = await api.call(apiRoutes.getConfigFragment, { params: { scope: 'tag', key: 'lobby' } });
    const list = await api.call(apiRoutes.listConfigFragments);
    expect(JSON.stringify([read, list])).not.toContain('hunter2');
    // The dashboard saves what it read (with ***) plus a change: the stored password survives.
    const again = await put('tag', 'lobby', { camera: { ...read.settings.camera, fps: 3 } });
    expect(again.status).toBe(200);
    const stored = await t.cp.store.config.getFragment('tag', 'lobby');
    expect(stored?.settings.camera).toMatchObject({ url, fps: 3 });
    // A device that has the tag gets the real URL; readers of its effective config do not.
    await expect(
      api.call(apiRoutes.getDeviceConfig, { params: { id: DEVICE } }).then((v) => JSON.stringify(v)),
    ).resolves.not.toContain('hunter2');
    await expect(
      api.call(apiRoutes.getConfigFragment, { params: { scope: 'tag', key: 'nope' } }),
    ).rejects.toThrow(EdgeloopError);
  });

  it('reverts an unreachable RTSP camera without its password showing in the report or events', async () => {
    const res = await put('device', DEVICE, {
      camera: { type: 'rtsp', url: 'rtsp://viewer:hunter2@127.0.0.1:9/stream1', fps: 2 },
    });
    expect(res.status).toBe(200);
    const bad = (await deviceConfig()).desired.revision;
    await waitUntil(
      async () => {
        const applied = await t.cp.store.config.getApplied(DEVICE);
        return applied?.status === 'reverted' && applied.failedRevision === bad;
      },
      'the RTSP camera reverted',
      20_000,
    );
    expect(agent.currentConfig().camera).toMatchObject({ type: 'folder', path: frames });
    const seen = JSON.stringify([
      await t.cp.store.config.getApplied(DEVICE),
      await t.cp.store.events.list(DEVICE),
      await api.call(apiRoutes.getDeviceConfig, { params: { id: DEVICE } }),
    ]);
    expect(seen).toContain('rtsp://viewer:***@127.0.0.1');
    expect(seen).not.toContain('hunter2');
    await api.call(apiRoutes.deleteConfigFragment, { params: { scope: 'device', key: DEVICE } });
  }, 30_000);
});
