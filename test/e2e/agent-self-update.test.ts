/**
 * Agent self-updates end to end, with real parts: a control plane (HTTP + embedded broker), agent
 * bundles published through its API, and devices that each run deploy/device/edgeloop-launcher
 * the way systemd runs the unit (restarted whenever it exits), with the real x64 bundle installed
 * as their factory code. One bundle is built; the others are derived from it (another version,
 * re-signed), one of them broken so that its agent exits at start.
 *
 *   - a rollout from A (0.1.0) to B (0.2.0) reaches every device, through the slots and pointer;
 *   - power cuts (SIGKILL of launcher and agent together) at each step of a self-update leave a
 *     device that starts an agent again, and it ends on B;
 *   - a broken C (0.3.0) crash-loops on the canary, the launcher reverts it to B, the rollout
 *     counts the failure and aborts, and the other device is never told.
 */
import { cp, mkdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type AgentRollout,
  ApiClient,
  apiRoutes,
  type CreateAgentRolloutInput,
  EdgeloopError,
  generateSigningKey,
  PROTOCOL_VERSION,
} from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSigningKeyFile } from '../../cli/bundle/key-files.ts';
import { buildTestBundle, type UnpackedBundle } from '../helpers/agent-bundle.ts';
import { deriveBundle } from '../helpers/derived-bundle.ts';
import { LauncherSupervisor } from '../helpers/launcher-supervisor.ts';
import {
  createToken,
  startTestControlPlane,
  type TestControlPlane,
} from '../integration/control-plane/helpers.ts';
import { freePort, waitUntil } from '../integration/rollouts/fleet.ts';

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const A = '0.1.0';
const B = '0.2.0';
const C = '0.3.0';

interface Device {
  id: string;
  dir: string;
  data: string;
  supervisor: LauncherSupervisor;
}

describe('agent self-update: slots, pointer, launcher revert, staged rollouts', () => {
  let t: TestControlPlane;
  let api: ApiClient;
  let bundleA: UnpackedBundle;
  const devices: Device[] = [];

  beforeAll(async () => {
    t = await startTestControlPlane({
      http: { host: '127.0.0.1', port: await freePort() },
      mqtt: { host: '127.0.0.1', port: await freePort() },
      rollouts: { tickMs: 200 },
      logLevel: 'info',
    });
    api = new ApiClient(t.cp.httpUrl, t.cp.adminToken);
    const keyFile = join(t.dataDir, 'signing-key.json');
    bundleA = await buildTestBundle('x64', keyFile, t.dataDir);
    const key = readSigningKeyFile(keyFile);
    const derived = [
      await deriveBundle(bundleA.dir, { version: B, signingKey: key, workDir: t.dataDir }),
      // Exits before it does anything: the new agent cannot even start.
      await deriveBundle(bundleA.dir, {
        version: C,
        signingKey: key,
        workDir: t.dataDir,
        breakWith: 'process.exit(70);',
      }),
    ];
    for (const file of [bundleA.built.file, ...derived.map((d) => d.file)]) await publish(file);
    for (const id of ['self-update-1', 'self-update-2']) devices.push(await installDevice(id));
    for (const d of devices) d.supervisor.start();
    await waitUntil(
      async () => {
        const stored = await t.cp.store.devices.getMany(devices.map((d) => d.id));
        return stored.length === devices.length && stored.every((d) => d.agentVersion === A);
      },
      'every device reporting agent 0.1.0',
      120_000,
    );
  }, 900_000);

  afterAll(async () => {
    for (const d of devices) await d.supervisor.stop();
    await t?.stop();
  });

  async function publish(file: string): Promise<void> {
    const form = new FormData();
    form.set('bundle', new Blob([await readFile(file)], { type: 'application/gzip' }), 'bundle.tar.gz');
    await api.call(apiRoutes.publishAgentVersion, { body: form });
  }

  /** The factory code (as install.sh leaves /opt/edgeloop/current), a config, and a launcher. */
  async function installDevice(id: string): Promise<Device> {
    const dir = join(t.dataDir, id);
    const factory = join(dir, 'opt/current');
    const data = join(dir, 'var-lib');
    await mkdir(data, { recursive: true });
    await cp(bundleA.dir, factory, { recursive: true });
    const config = join(dir, 'agent.json');
    await writeFile(
      config,
      JSON.stringify({
        deviceId: id,
        controlPlaneUrl: t.cp.httpUrl,
        enrollmentToken: await createToken(t),
        trustedKeys: [t.cp.signingPublicKey],
        camera: { type: 'synthetic', width: 32, height: 32, fps: 1 },
        reportIntervalMs: 1000,
        updates: { agentHealthySeconds: 3 },
        logLevel: 'warn',
      }),
    );
    const supervisor = new LauncherSupervisor({
      launcher: join(factory, 'bin/edgeloop-launcher'),
      args: ['--config', config],
      env: {
        PATH,
        EDGELOOP_AGENT_DATA_DIR: data,
        EDGELOOP_FACTORY_DIR: factory,
        EDGELOOP_UPDATE_MAX_BOOTS: '2',
        EDGELOOP_UPDATE_DEADLINE_S: '60',
      },
    });
    return { id, dir, data, supervisor };
  }

  async function rollout(agentVersion: string): Promise<AgentRollout> {
    const body: CreateAgentRolloutInput = {
      protocol: PROTOCOL_VERSION,
      agentVersion,
      target: { deviceIds: devices.map((d) => d.id) },
      strategy: {
        waves: [{ devices: 1 }, { percent: 100 }],
        soakSeconds: 1,
        deviceTimeoutSeconds: 180,
      },
    };
    return api.call(apiRoutes.createAgentRollout, { body });
  }

  const getRollout = (id: string) => api.call(apiRoutes.getAgentRollout, { params: { id } });
  const exists = (path: string) =>
    stat(path).then(
      () => true,
      () => false,
    );

  it('publishing refuses a bundle not signed by the control plane, and a version published before', async () => {
    const forged = await deriveBundle(bundleA.dir, {
      version: '9.0.0',
      signingKey: generateSigningKey(),
      workDir: t.dataDir,
    });
    const refused = await publish(forged.file).catch((err: EdgeloopError) => err);
    expect(refused).toBeInstanceOf(EdgeloopError);
    expect((refused as EdgeloopError).code).toBe('MANIFEST_UNTRUSTED_KEY');
    const again = await publish(bundleA.built.file).catch((err: EdgeloopError) => err);
    expect((again as EdgeloopError).code).toBe('CONFLICT');
    const listed = await api.call(apiRoutes.listAgentVersions, {});
    expect(listed.agentVersions.map((v) => v.agentVersion).sort()).toEqual([A, B, C]);
  }, 120_000);

  it('rolls agent 0.2.0 out to every device: inactive slot, pointer switched, confirmed healthy', async () => {
    const created = await rollout(B);
    const done = await waitUntil(
      async () => {
        const r = await getRollout(created.rolloutId);
        return r.state !== 'running' && r;
      },
      'the rollout to finish',
      240_000,
    );
    expect(done.state).toBe('completed');
    expect(done.devices.map((d) => d.state)).toEqual(['active', 'active']);
    for (const d of devices) {
      expect((await t.cp.store.devices.get(d.id))?.agentVersion).toBe(B);
      expect(await readlink(join(d.data, 'agent/current'))).toBe('slots/a');
      expect(await exists(join(d.data, 'agent/trial'))).toBe(false);
      expect(JSON.parse(await readFile(join(d.data, 'agent/result'), 'utf8'))).toMatchObject({
        outcome: 'confirmed',
        version: B,
      });
    }
    // The fleet view shows each device's agent version.
    const listed = await api.call(apiRoutes.listDevices, {});
    for (const d of devices) expect(listed.devices.find((x) => x.deviceId === d.id)?.agentVersion).toBe(B);
  }, 300_000);

  // Each step of a self-update, named by what is on disk (or logged) when the power goes.
  const STEPS: { step: string; when: (agent: string, s: LauncherSupervisor) => Promise<boolean> }[] = [
    { step: 'download', when: (a) => exists(join(a, 'download.tar.gz')) },
    { step: 'unpack and verify', when: (a) => exists(join(a, 'slots/a.tmp')) },
    { step: 'pointer switch', when: (a) => exists(join(a, 'trial')) },
    { step: 'first boot', when: (a) => exists(join(a, 'boots')) },
    {
      // The new agent runs but has not confirmed itself yet (it waits agentHealthySeconds).
      step: 'health confirm',
      when: async (a, s) => {
        const trial = s.lines.findLastIndex((l) => /trial of agent/.test(l));
        return (
          trial >= 0 &&
          s.lines.slice(trial).some((l) => /running on linux/.test(l)) &&
          (await exists(join(a, 'trial')))
        );
      },
    },
  ];

  it('a power cut at each step of a self-update leaves a device that runs an agent and ends on 0.2.0', async () => {
    const d = devices[0];
    const agentDir = join(d.data, 'agent');
    for (const { step, when } of STEPS) {
      // Back to the factory code (0.1.0); its desired state still says 0.2.0, so it updates again.
      await d.supervisor.stop();
      await rm(agentDir, { recursive: true, force: true });
      d.supervisor.start();
      await waitUntil(() => when(agentDir, d.supervisor), `step '${step}'`, 120_000);
      await d.supervisor.powerCut();
      const from = d.supervisor.mark();
      d.supervisor.start();
      // An agent runs again (the old one or the new one, never none) ...
      await d.supervisor.waitFor(/running on linux/, from, 120_000);
      // ... and the update completes: 0.2.0 confirmed, no trial left.
      await waitUntil(
        async () =>
          (await t.cp.store.devices.get(d.id))?.agentVersion === B &&
          !(await exists(join(agentDir, 'trial'))) &&
          (await readlink(join(agentDir, 'current')).catch(() => null)) !== null,
        `device back on ${B} after a power cut at '${step}'`,
        120_000,
      );
    }
  }, 900_000);

  it('a broken 0.3.0 crash-loops on the canary, is reverted by the launcher, and the rollout aborts', async () => {
    const created = await rollout(C);
    const done = await waitUntil(
      async () => {
        const r = await getRollout(created.rolloutId);
        return r.state !== 'running' && r;
      },
      'the rollout to stop',
      240_000,
    );
    expect(done.state).toBe('aborted');
    expect(done.reason).toMatch(/failed their self-update/);
    const canary = done.devices.find((d) => d.wave === 0)!;
    const other = done.devices.find((d) => d.wave === 1)!;
    expect(canary.history.map((h) => h.state)).toContain('failed');
    expect(canary.history.find((h) => h.state === 'failed')?.reason).toMatch(/reverted: crash-loop/);
    // The second wave was never told.
    expect(other.state).toBe('queued');
    const canaryDevice = devices.find((d) => d.id === canary.deviceId)!;
    // The launcher switched back; the reverted device runs 0.2.0 and reports so.
    await waitUntil(
      async () => (await t.cp.store.devices.get(canary.deviceId))?.agentVersion === B,
      'the canary running 0.2.0 again',
      60_000,
    );
    expect(JSON.parse(await readFile(join(canaryDevice.data, 'agent/result'), 'utf8'))).toMatchObject({
      outcome: 'reverted',
      version: C,
    });
    expect((await t.cp.store.devices.get(other.deviceId))?.agentVersion).toBe(B);
    // Ordered back to 0.2.0, which it runs: rolled back.
    await waitUntil(
      async () =>
        (await getRollout(created.rolloutId)).devices.find((d) => d.wave === 0)?.state === 'rolled_back',
      'the canary rolled back',
      60_000,
    );
  }, 300_000);
});
