/**
 * Agent self-updates end to end, with real parts: a control plane (HTTP + embedded broker), agent
 * bundles published through its API, and devices that each run deploy/device/edgeloop-launcher
 * the way systemd runs the unit (restarted whenever it exits), with the real x64 bundle installed
 * as their factory code. One bundle is built; the others are derived from it (another version,
 * re-signed), one of them broken so that its agent exits at start.
 *
 *   - a rollout from A (0.1.0) to B (0.2.0) reaches every device, through the slots and pointer;
 *   - a broken C (0.3.0) crash-loops on the canary, the launcher reverts it to B, the rollout
 *     counts the failure and aborts, and the other device is never told;
 *   - power cuts (SIGKILL of launcher and agent together) at each named step of self-updates and at
 *     seeded random moments between "update started" and "update confirmed", in both directions
 *     (B → D, and D → B as an ordered rollback; each update switches to the other slot): after
 *     every cut the pointer names verified code (the old version or the new), the model is
 *     verified, the device restarts through the launcher and reports over MQTT, and the update
 *     ends on the version ordered (a cut is not a failed trial: it never reverts). Seed:
 *     FAULT_SEED (printed); FAULT_AGENT_RANDOM_POINTS sets the random moments per direction.
 */
import { cp, mkdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type AgentRollout,
  ApiClient,
  apiRoutes,
  type CreateAgentRolloutInput,
  createRng,
  EdgeloopError,
  generateSigningKey,
  PROTOCOL_VERSION,
  sha256Hex,
} from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSigningKeyFile } from '../../cli/bundle/key-files.ts';
import { buildTestBundle, type UnpackedBundle } from '../helpers/agent-bundle.ts';
import { deriveBundle } from '../helpers/derived-bundle.ts';
import { agentCodeOnDisk, verifiedModelOnDisk } from '../helpers/device-disk-checks.ts';
import {
  describePoint,
  type KillPoint,
  type KillRound,
  type KillTarget,
  killPlan,
  runKillPoints,
} from '../helpers/kill-points.ts';
import { LauncherSupervisor } from '../helpers/launcher-supervisor.ts';
import { testManifest } from '../helpers/manifest-fixture.ts';
import {
  createToken,
  startTestControlPlane,
  type TestControlPlane,
} from '../integration/control-plane/helpers.ts';
import { fleetModel, freePort, waitUntil } from '../integration/rollouts/fleet.ts';

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const A = '0.1.0';
const B = '0.2.0';
const C = '0.3.0';
const D = '0.4.0';
const SEED = Number(process.env.FAULT_SEED ?? 20261206);
/** Random moments per direction (B → D and D → B), beside the 6 named steps in each: 20 cuts. */
const RANDOM_PER_DIRECTION = Number(process.env.FAULT_AGENT_RANDOM_POINTS ?? 4);

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
    // B and C leave out the Node runtime (the bundle variant for devices with Node 20; the
    // launcher's bin/edgeloop-agent then uses the system's): a third of the bytes to move, unpack
    // and verify in each of the many updates below. A, the factory code, is the full bundle.
    const derived = [
      await deriveBundle(bundleA.dir, { version: B, signingKey: key, workDir: t.dataDir, withoutNode: true }),
      // Exits before it does anything: the new agent cannot even start.
      await deriveBundle(bundleA.dir, {
        version: C,
        signingKey: key,
        workDir: t.dataDir,
        breakWith: 'process.exit(70);',
        withoutNode: true,
      }),
    ];
    for (const file of [bundleA.built.file, ...derived.map((d) => d.file)]) await publish(file);
    // The first device is the one power cuts hit: it logs at info (the steps the cuts anchor on)
    // and reports often, so each cut's checks see its state without waiting out a report interval.
    devices.push(
      await installDevice('self-update-1', {
        logLevel: 'info',
        agentHealthySeconds: 1,
        reportIntervalMs: 250,
      }),
    );
    devices.push(
      await installDevice('self-update-2', {
        logLevel: 'warn',
        agentHealthySeconds: 3,
        reportIntervalMs: 1000,
      }),
    );
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
  async function installDevice(
    id: string,
    o: { logLevel: 'info' | 'warn'; agentHealthySeconds: number; reportIntervalMs: number },
  ): Promise<Device> {
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
        reportIntervalMs: o.reportIntervalMs,
        updates: { agentHealthySeconds: o.agentHealthySeconds },
        logLevel: o.logLevel,
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

  /**
   * The steps of a self-update, named by the line that says each is done (the agent's, or the
   * launcher's for a trial start): a cut right after each, in both directions.
   */
  const NAMED_STEPS = [
    'agent update started', // the download begins
    'agent bundle downloaded; unpacking and verifying it',
    'agent installed in the inactive slot; restarting into it', // pointer switched
    'trial of agent', // the launcher's first start of the new slot
    'running a self-update on trial', // the new agent runs, not confirmed yet
    'self-update confirmed healthy',
  ].map((after) => ({ after, delayMs: 0 }));

  it('power cuts at named steps and random moments of self-updates both ways leave a working agent on a verified model', async () => {
    const d = devices[0];
    const keys = [t.cp.signingPublicKey];
    const s = d.supervisor;
    // D, a fourth version: B → D is an update, D → B an ordered rollback (an aborted rollout's order).
    const derivedD = await deriveBundle(bundleA.dir, {
      version: D,
      signingKey: readSigningKeyFile(join(t.dataDir, 'signing-key.json')),
      workDir: t.dataDir,
      withoutNode: true,
    });
    await publish(derivedD.file);
    // A model to run, so every restart must also come back on a verified model.
    const model = fleetModel('confident', 1, 200_000);
    await api.publishModel(testManifest(model, { modelVersion: 1 }), new Map([['model.onnx', model]]));
    await api.assign(1, { deviceIds: [d.id] });
    await waitUntil(
      async () => (await t.cp.store.devices.get(d.id))?.reportedVersion === 1,
      'the device running model 1',
      120_000,
    );

    // An order as the rollout engine gives one: the desired row, then the signed desired state.
    const order = async (version: string) => {
      await t.cp.store.agentVersions.setDesired([d.id], version, version === B, new Date().toISOString());
      await t.cp.desired.publish([d.id]);
    };
    const converged = (version: string, why: string) =>
      waitUntil(
        async () => {
          const stored = await t.cp.store.devices.get(d.id);
          return (
            stored?.agentVersion === version &&
            stored.status === 'running' &&
            !(await exists(join(d.data, 'agent/trial')))
          );
        },
        `device confirmed on agent ${version} ${why}`,
        120_000,
      );
    /** An uncut update: its time from 'agent update started' to 'self-update confirmed healthy'. */
    const timedUpdate = async (version: string) => {
      const from = s.mark();
      const started = s.waitForLine(
        (l) => l.msg === 'agent update started' && l.version === version,
        'update started',
        from,
        120_000,
      );
      const confirmed = s.waitForLine(
        (l) => l.msg === 'self-update confirmed healthy' && l.version === version,
        'update confirmed',
        from,
        120_000,
      );
      await order(version);
      const ms = Number((await confirmed).time) - Number((await started).time);
      await converged(version, 'uncut');
      return ms;
    };
    // After the broken C, the device runs B from slot a. Calibrate the random moments on this
    // machine: B → D (into slot b), D → B (into slot a).
    await converged(B, 'before the cuts');
    const windowMs: Record<string, number> = { [D]: await timedUpdate(D), [B]: await timedUpdate(B) };

    const rng = createRng(SEED);
    const plans = [D, B].map((to) =>
      killPlan({
        rng,
        named: NAMED_STEPS,
        random: RANDOM_PER_DIRECTION,
        anchor: NAMED_STEPS[0].after,
        windowMs: windowMs[to],
      }),
    );
    // Alternate directions: each round goes to the version the device is not on.
    const plan: { point: KillPoint; to: string }[] = [];
    for (let i = 0; i < plans[0].length; i++)
      plan.push({ point: plans[0][i], to: D }, { point: plans[1][i], to: B });
    let current = B;

    const target: KillTarget = s.killTarget();
    let restart = { from: 0, at: 0 };
    const { summary } = await runKillPoints<KillTarget>({
      proc: target,
      points: plan.map((p) => p.point),
      start: () => {
        restart = { from: s.mark(), at: Date.now() };
        s.start();
        return target;
      },
      round: (i): KillRound<KillTarget> => {
        const { to } = plan[i];
        const from = current;
        return {
          begin: () => order(to),
          isAnchor: (l, p) =>
            p.after === 'trial of agent'
              ? l.text?.includes(`trial of agent ${to}`) === true
              : l.msg === p.after && l.version === to,
          anchorTimeoutMs: 120_000,
          async afterKill(p) {
            const where = `${describePoint(p)} of the update to ${to}`;
            // The code the launcher starts next is complete and verified, and is A or B.
            const code = await agentCodeOnDisk(d.data, { version: A }, keys);
            expect([from, to], `agent code on disk after ${where}`).toContain(code.version);
            if (code.trial !== null) expect(code.trial, `trial after ${where}`).toBe(code.version);
            const onDisk = await verifiedModelOnDisk(d.data, keys);
            expect(onDisk, `model on disk after ${where}`).toEqual({
              modelVersion: 1,
              sha256: sha256Hex(model),
            });
            return `came back on the ${code.version === to ? 'new' : 'old'} agent`;
          },
          async recover(_, outcome) {
            // A working agent: started by the launcher, on the verified model, reporting over MQTT.
            const loaded = await s.waitForLine(
              (l) => l.msg === 'active model loaded from disk',
              'a model from disk',
              restart.from,
              120_000,
            );
            expect(loaded.modelVersion).toBe(1);
            await waitUntil(
              async () => {
                const stored = await t.cp.store.devices.get(d.id);
                return (
                  stored?.status === 'running' &&
                  Date.parse(stored.lastSeenAt ?? '') >= restart.at &&
                  [from, to].includes(stored.agentVersion ?? '')
                );
              },
              `a report from the restarted agent (update to ${to})`,
              120_000,
            );
            await converged(to, `after a cut at ${describePoint(plan[i].point)}`);
            // The designed outcome: a cut never counts as a failed trial, so nothing is reverted.
            expect(JSON.parse(await readFile(join(d.data, 'agent/result'), 'utf8'))).toMatchObject({
              outcome: 'confirmed',
              version: to,
            });
            current = to;
            return outcome;
          },
        };
      },
      onPoint: (i, point, outcome, ms) =>
        process.stdout.write(
          `agent power cut ${i + 1}/${plan.length}: ${plan[i].to === D ? 'B→D' : 'D→B'} ${describePoint(point)} → ${outcome} (${ms} ms)\n`,
        ),
    });
    process.stdout.write(
      `power cuts over agent self-updates: ${JSON.stringify({ seed: SEED, windowMs, ...summary })}\n`,
    );
    expect(summary.points).toBe(2 * (NAMED_STEPS.length + RANDOM_PER_DIRECTION));
    expect(summary.restarts).toBe(summary.points);
    expect(Object.keys(summary.outcomes).sort()).toEqual([
      'came back on the new agent',
      'came back on the old agent',
    ]);
    expect((await t.cp.store.devices.get(d.id))?.agentVersion).toBe(B);
  }, 1_200_000);
});
