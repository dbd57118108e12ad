/**
 * The remote configuration's health check, end to end: a real control plane (HTTP, SQLite,
 * embedded broker) and a real agent with two folder cameras. A pushed configuration that keeps one
 * camera delivering but breaks the other is reverted, and the revert names the broken camera; an
 * agent stopped while a configuration was still being checked starts on it, checks it again and
 * reverts it when it fails.
 */
import { join } from 'node:path';
import {
  type AgentConfig,
  AgentConfigSchema,
  ApiClient,
  type AppliedConfig,
  apiRoutes,
} from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../../agent/src/main.ts';
import { putFragment, writeColourFrames } from '../../helpers/agent-config-fixtures.ts';
import {
  createToken,
  LogCapture,
  startTestControlPlane,
  type TestControlPlane,
} from '../control-plane/helpers.ts';
import { waitUntil } from '../rollouts/fleet.ts';

const DEVICE = 'cam-health-01';
let t: TestControlPlane;
let api: ApiClient;
let agent: Agent | null = null;
let config: AgentConfig;
let frames: string;
const agentLogs = new LogCapture();

const folder = (id: string, path: string) => ({ id, type: 'folder', path, fps: 20, loop: true });

async function putDevice(settings: unknown): Promise<string> {
  const res = await putFragment(t, 'device', DEVICE, settings);
  expect(res.status).toBe(200);
  const view = await api.call(apiRoutes.getDeviceConfig, { params: { id: DEVICE } });
  return view.desired.revision as string;
}

function start(deadlineMs: number): Promise<Agent> {
  return startAgent(config, {
    logger: agentLogs.logger,
    retry: { baseMs: 100, maxMs: 300 },
    httpTimeoutMs: 2_000,
    configDeadlineMs: deadlineMs,
  });
}

/** Each camera's folder, in config order. */
const cameraPaths = (a: Agent | null) =>
  (a?.currentConfig().cameras ?? []).map((c) => (c.type === 'folder' ? c.path : c.type));

const ignored = () =>
  agentLogs.entries.filter((e) => e.msg === 'ignoring a remote config that already failed here').length;

const reportedRevert = (failed: string) => async () => {
  const applied = (await t.cp.store.config.getApplied(DEVICE)) as AppliedConfig | null;
  return applied?.status === 'reverted' && applied.failedRevision === failed ? applied : null;
};

beforeAll(async () => {
  t = await startTestControlPlane();
  api = new ApiClient(t.cp.httpUrl, t.cp.adminToken);
  frames = await writeColourFrames(join(t.dataDir, 'frames'));
  config = AgentConfigSchema.parse({
    controlPlaneUrl: t.cp.httpUrl,
    dataDir: join(t.dataDir, 'agent'),
    enrollmentToken: await createToken(t),
    deviceId: DEVICE,
    trustedKeys: [t.cp.signingPublicKey],
    cameras: [folder('gate', frames), folder('yard', frames)],
    reportIntervalMs: 300,
    logLevel: 'info',
  });
  agent = await start(3_000);
  await waitUntil(async () => (await t.cp.store.devices.get(DEVICE))?.online, 'agent online');
}, 30_000);

afterAll(async () => {
  await agent?.close();
  await t?.stop();
});

describe('remote configuration health check', () => {
  it('reverts a configuration that breaks one camera of two, and names that camera', async () => {
    // `gate` keeps delivering; `yard` is pointed at files that do not exist.
    const bad = await putDevice({
      cameras: [folder('gate', frames), folder('yard', join(frames, 'missing', '*.jpg'))],
    });
    const reverted = await waitUntil(reportedRevert(bad), 'the revert reported', 15_000);
    expect(reverted.revision).toBeNull();
    expect(reverted.detail).toMatch(/camera 'yard'/);
    expect(reverted.detail).not.toMatch(/camera 'gate'/);
    expect(cameraPaths(agent)).toEqual([frames, frames]);
    await waitUntil(
      async () =>
        (await t.cp.store.events.list(DEVICE)).some(
          (e) => e.type === 'config-reverted' && /yard/.test(e.message),
        ),
      'config-reverted event naming the camera',
    );
    // Both cameras deliver again after the revert.
    const before = agent?.stats().cameras.map((c) => c.framesCaptured) ?? [];
    await waitUntil(
      () => agent?.stats().cameras.every((c, i) => c.framesCaptured > (before[i] ?? 0)),
      'both cameras delivering',
    );
  }, 30_000);

  it('starts on a configuration left unconfirmed by a stop during its check, and reverts it', async () => {
    await agent?.close();
    // A long deadline: the agent is stopped while it still waits for `yard` to deliver.
    agent = await start(60_000);
    const bad = await putDevice({
      cameras: [folder('gate', frames), folder('yard', join(frames, 'gone', '*.jpg'))],
    });
    await waitUntil(
      () => agent?.configStatus().status === 'applying' && cameraPaths(agent)[1] !== frames,
      'the agent checking the new configuration',
    );
    await agent?.close();
    agent = null;

    const ignoredBefore = ignored();
    // The next start finds the unconfirmed candidate, runs on it, checks it again and reverts.
    agent = await start(3_000);
    await agentLogs.waitFor(
      (e) => e.msg === 'starting on a remote config that was not confirmed healthy; checking it again',
    );
    const reverted = await waitUntil(reportedRevert(bad), 'the revert after the restart', 15_000);
    expect(reverted.detail).toMatch(/camera 'yard'/);
    expect(cameraPaths(agent)).toEqual([frames, frames]);
    // The control plane still asks for the failed revision: it is not tried again.
    await waitUntil(() => ignored() > ignoredBefore, 'the failed revision ignored');
    expect(agent.configStatus()).toMatchObject({ status: 'reverted', failedRevision: bad });
  }, 40_000);
});
