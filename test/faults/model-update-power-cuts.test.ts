/**
 * Power-cut realism for model updates, as Mender tests it: the real agent (its own process,
 * onnxruntime, signed manifests) runs against a real control plane (HTTP, embedded aedes broker,
 * SQLite) and is SIGKILLed at 30 points while models roll forward (a download) and back (a switch
 * to the slot kept for rollback): at each named step of an install, and at moments drawn from a
 * seeded RNG across the whole manifest → download → verify → smoke test → activate window. The
 * other 22 of the 52 power cuts hit agent self-updates (test/e2e/agent-self-update.test.ts).
 * After every cut, before the restart, the disk must hold a verified model (the one it had or the
 * new one; signature and every hash match the manifest the control plane signed) and no slot that
 * looks complete but holds a partial file; the restarted agent must load exactly that model and
 * converge to the desired version. Seed: FAULT_SEED (printed, so a failure can be replayed).
 */
import { resolve } from 'node:path';
import { ModelStore } from '@edgeloop/agent';
import {
  type ApiClient,
  apiRoutes,
  createRng,
  type ModelSlot,
  PROTOCOL_VERSION,
  sha256Hex,
} from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonLogProcess } from '../helpers/json-log-process.ts';
import {
  describePoint,
  type KillPoint,
  type KillRound,
  killPlan,
  runKillPoints,
  WarmSpare,
} from '../helpers/kill-points.ts';
import { testManifest } from '../helpers/manifest-fixture.ts';
import { startThrottledAgentSetup, type ThrottledAgentSetup } from '../helpers/throttled-agent-setup.ts';
import type { TestControlPlane } from '../integration/control-plane/helpers.ts';
import { fleetModel, waitUntil } from '../integration/rollouts/fleet.ts';

const AGENT_PROCESS = resolve(import.meta.dirname, '../helpers/agent-process.ts');
const DEVICE = 'cam-power-cut';
/**
 * Small enough to keep a point cheap, big enough that the throttled download is a real stage and
 * that a cut in it leaves a partial file to resume (the downloader writes in 256 KiB batches).
 */
const MODEL_BYTES = 600_000;
const LINK_BYTES_PER_SECOND = 1_000_000;
const SEED = Number(process.env.FAULT_SEED ?? 20261206);
/** Beside the 10 named steps: 30 model points (the other 20 of the 50 cut agent self-updates). */
const RANDOM_POINTS = Number(process.env.FAULT_RANDOM_POINTS ?? 20);
/** Guards against a hang, not a speed target: a step takes seconds on an idle machine. */
const STEP_TIMEOUT_MS = 90_000;

/** The agent as a process (the power cut is a SIGKILL), started warm: see WarmSpare. */
class AgentProcess extends JsonLogProcess {
  constructor(configPath: string) {
    super(process.execPath, ['--import', 'tsx', AGENT_PROCESS, configPath], {
      env: { ...process.env, EDGELOOP_AGENT_STANDBY: '1' },
    });
  }
}

/** Steps of a forward install (download) and of a rollback (switch to the kept slot). */
const NAMED_FORWARD = [
  { after: 'manifest verified', delayMs: 0 },
  { after: 'download started', delayMs: 0 },
  { after: 'download started', delayMs: 150 },
  { after: 'download started', delayMs: 400 },
  { after: 'slot committed', delayMs: 0 },
  { after: 'smoke test passed', delayMs: 0 },
  { after: 'pointer written', delayMs: 0 },
  { after: 'model installed', delayMs: 0 },
];
const NAMED_BACK = [
  { after: 'version already complete in the inactive slot', delayMs: 0 },
  { after: 'pointer written', delayMs: 0 },
];

describe('an agent SIGKILLed at 30 points of model updates', () => {
  let setup: ThrottledAgentSetup;
  let t: TestControlPlane;
  let api: ApiClient;
  let store: ModelStore;
  let agent: AgentProcess | null = null;
  let spares: WarmSpare<AgentProcess> | null = null;
  /** sha256 of the model file published for each version: what the signed manifest must say. */
  const published = new Map<number, string>();

  beforeAll(async () => {
    setup = await startThrottledAgentSetup({
      deviceId: DEVICE,
      linkBytesPerSecond: LINK_BYTES_PER_SECOND,
      frameSize: 32,
      reportIntervalMs: 200,
      controlPlaneLogLevel: 'warn',
    });
    ({ t, api } = setup);
    store = new ModelStore(setup.dataDir);
  });

  afterAll(async () => {
    await agent?.kill();
    await spares?.close();
    await setup?.close();
  });

  const publish = async (version: number) => {
    const model = fleetModel('confident', version, MODEL_BYTES);
    await api.publishModel(testManifest(model, { modelVersion: version }), new Map([['model.onnx', model]]));
    published.set(version, sha256Hex(model));
  };

  /**
   * Pins the device to a version: a lower one gets a rollback manifest signed for the order (a
   * plain assignment of an older version is refused by the agent, protocol.md §known limits).
   */
  const pin = (version: number) =>
    api.call(apiRoutes.pinDevice, {
      params: { id: DEVICE },
      body: { protocol: PROTOCOL_VERSION, modelVersion: version, reason: 'power-cut test' },
    });

  const converged = (version: number) =>
    waitUntil(
      async () => {
        const d = await t.cp.store.devices.get(DEVICE);
        return d?.reportedVersion === version && d.status === 'running';
      },
      `device running version ${version}`,
      STEP_TIMEOUT_MS,
    ).catch(async (err) => {
      // Say where it got stuck: what the control plane last heard, what the agent last did.
      const d = await t.cp.store.devices.get(DEVICE);
      const tail = agent?.lines.slice(-10).map((l) => `${l.msg ?? l.text} ${l.modelVersion ?? ''}`);
      throw new Error(
        `${(err as Error).message}; reported ${d?.reportedVersion} ${d?.status} (${d?.detail}); agent: ${tail?.join(' | ')}`,
      );
    });

  /** Time from 'manifest verified' to 'model installed' of an uncut update to `version`. */
  const timedUpdate = async (version: number): Promise<number> => {
    const verified = agent!.waitFor(
      (l) => l.msg === 'manifest verified' && l.modelVersion === version,
      'verified',
      STEP_TIMEOUT_MS,
    );
    const installed = agent!.waitFor(
      (l) => l.msg === 'model installed' && l.modelVersion === version,
      'installed',
      STEP_TIMEOUT_MS,
    );
    await pin(version);
    const t0 = Number((await verified).time);
    const ms = Number((await installed).time) - t0;
    await converged(version);
    return ms;
  };

  /** What a cut left on disk: a pointer to a verified slot holding `from` or `to`, nothing half-complete. */
  const checkDisk = async (point: KillPoint, from: number, to: number): Promise<number> => {
    const where = describePoint(point);
    const pointer = await store.readPointer();
    expect(pointer, `pointer after ${where}`).not.toBeNull();
    expect([from, to], `version on disk after ${where}`).toContain(pointer!.modelVersion);
    const keys = [t.cp.signingPublicKey];
    const manifest = await store.readSlot(pointer!.slot, keys, true);
    expect(manifest?.modelVersion, `verified slot after ${where}`).toBe(pointer!.modelVersion);
    expect(manifest!.files[0].sha256, `hash of the active model after ${where}`).toBe(
      published.get(pointer!.modelVersion),
    );
    // A slot with a manifest is complete: its signature and every file hash verify.
    for (const slot of ['a', 'b'] as ModelSlot[]) {
      const complete = await store.readSlot(slot, keys, false);
      if (complete)
        expect(await store.readSlot(slot, keys, true), `slot ${slot} after ${where}`).not.toBeNull();
    }
    return pointer!.modelVersion;
  };

  it('always restarts on a verified model and converges to the desired version', async () => {
    const rng = createRng(SEED);
    await publish(1);
    await publish(2);
    spares = new WarmSpare(() => new AgentProcess(setup.configPath));
    agent = await spares.take();
    await agent.waitFor((l) => l.msg === 'agent started', 'start', STEP_TIMEOUT_MS);
    await pin(1);
    await converged(1);
    // Calibrate the windows the random moments are drawn from on uncut updates of this machine.
    const forwardMs = await timedUpdate(2);
    const backMs = await timedUpdate(1);
    await timedUpdate(2);

    // Two forward updates for each rollback, so most cuts land in downloads.
    const forward = killPlan({
      rng,
      named: NAMED_FORWARD,
      random: Math.round((RANDOM_POINTS * 2) / 3),
      anchor: 'manifest verified',
      windowMs: forwardMs * 1.1,
    });
    const back = killPlan({
      rng,
      named: NAMED_BACK,
      random: RANDOM_POINTS - Math.round((RANDOM_POINTS * 2) / 3),
      anchor: 'manifest verified',
      windowMs: backMs * 1.1,
    });
    // Two forward updates, then a rollback: most cuts land in downloads, and every rollback goes
    // back to the version the forward update before it left in the other slot.
    const plan: { point: KillPoint; back: boolean }[] = [];
    while (forward.length || back.length) {
      for (const _ of [1, 2]) if (forward.length) plan.push({ point: forward.pop()!, back: false });
      if (back.length) plan.push({ point: back.pop()!, back: true });
    }
    let current = 2;
    let previous = 1;
    let newest = 2;
    let resumed = 0;
    const { proc, summary } = await runKillPoints<AgentProcess>({
      proc: agent,
      points: plan.map((p) => p.point),
      start: async () => {
        agent = await spares!.take();
        return agent;
      },
      round: (i): KillRound<AgentProcess> => {
        const goBack = plan[i].back;
        const from = current;
        const to = goBack ? previous : newest + 1;
        return {
          async begin() {
            if (!goBack) {
              newest = to;
              await publish(to);
            }
            await pin(to);
          },
          isAnchor: (l, p) => l.msg === p.after && l.modelVersion === to,
          anchorTimeoutMs: STEP_TIMEOUT_MS,
          async afterKill(p) {
            const onDisk = await checkDisk(p, from, to);
            return `${goBack ? 'rollback' : 'forward'} cut, came back on the ${onDisk === to ? 'new' : 'old'} version`;
          },
          async recover(restarted, outcome) {
            const loaded = await restarted.waitFor(
              (l) => l.msg === 'active model loaded from disk',
              'a model from disk',
              STEP_TIMEOUT_MS,
            );
            expect([from, to]).toContain(loaded.modelVersion);
            await converged(to);
            if (restarted.lines.some((l) => l.msg === 'resuming download' && l.resumed === true)) resumed++;
            previous = from;
            current = to;
            return outcome;
          },
        };
      },
      onPoint: (i, point, outcome, ms) => {
        if (process.env.FAULT_TRACE) {
          const t0 = Number(agent!.lines[0]?.time);
          for (const l of agent!.lines)
            process.stdout.write(`  +${Number(l.time) - t0} ${l.msg ?? l.text}\n`);
        }
        process.stdout.write(
          `power cut ${i + 1}/${plan.length}: ${describePoint(point)} → ${outcome} (${ms} ms)\n`,
        );
      },
    });
    agent = proc;
    const result = {
      seed: SEED,
      forwardWindowMs: forwardMs,
      backWindowMs: backMs,
      resumedDownloads: resumed,
      ...summary,
    };
    process.stdout.write(`power cuts over model updates: ${JSON.stringify(result)}\n`);
    expect(summary.points).toBe(NAMED_FORWARD.length + NAMED_BACK.length + RANDOM_POINTS);
    expect(summary.restarts).toBe(summary.points);
    // Cuts landed on both sides of the commit point, and some mid-download ones resumed (Range).
    expect(Object.keys(summary.outcomes).some((o) => o.endsWith('new version'))).toBe(true);
    expect(Object.keys(summary.outcomes).some((o) => o.endsWith('old version'))).toBe(true);
    expect(resumed).toBeGreaterThanOrEqual(1);
    expect(current).toBe((await t.cp.store.devices.get(DEVICE))?.reportedVersion);
    // 4 min at load 7–10 on a shared 2-core machine; the bound only guards against a hang.
  }, 2_400_000);
});
