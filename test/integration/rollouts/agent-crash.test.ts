/**
 * Power-cut safety of installs: the real agent runs as a child process against the real control
 * plane and is SIGKILLed at many points of an install (at the start of the download, twice in the
 * middle of it through a slowed link, after the slot commit,
 * after the smoke test, after the pointer write, after the swap). Each time, the pointer on disk
 * must name a complete slot whose signature and file hashes verify, holding the old or the new
 * version; the restarted agent must come up on that model, resume the download (HTTP Range) where
 * it was cut, and finish the install.
 */
import { resolve } from 'node:path';
import { ModelStore } from '@edgeloop/agent';
import type { ApiClient } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonLogProcess } from '../../helpers/json-log-process.ts';
import { testManifest } from '../../helpers/manifest-fixture.ts';
import { startThrottledAgentSetup, type ThrottledAgentSetup } from '../../helpers/throttled-agent-setup.ts';
import type { TestControlPlane } from '../control-plane/helpers.ts';
import { fleetModel, waitUntil } from './fleet.ts';

const AGENT_PROCESS = resolve(import.meta.dirname, '../../helpers/agent-process.ts');
const DEVICE = 'cam-crash';
const MODEL_BYTES = 1_000_000;

/** The agent as a process: the power cut is a SIGKILL. */
class AgentProcess extends JsonLogProcess {
  constructor(configPath: string) {
    super(process.execPath, ['--import', 'tsx', AGENT_PROCESS, configPath]);
  }
}

describe('an agent killed at any point of an install', () => {
  let setup: ThrottledAgentSetup;
  let t: TestControlPlane;
  let api: ApiClient;
  let configPath: string;
  let dataDir: string;
  let agent: AgentProcess | null = null;

  beforeAll(async () => {
    // ~2 MB/s: a 1 MB model takes about half a second to arrive.
    setup = await startThrottledAgentSetup({
      deviceId: DEVICE,
      linkBytesPerSecond: 2_000_000,
      frameSize: 48,
      reportIntervalMs: 500,
      controlPlaneLogLevel: 'info',
    });
    ({ t, api, configPath, dataDir } = setup);
  });

  afterAll(async () => {
    await agent?.kill();
    await setup?.close();
  });

  const onVersion = (v: number) =>
    waitUntil(async () => {
      const d = await t.cp.store.devices.get(DEVICE);
      return d?.reportedVersion === v && d.status === 'running';
    }, `device running version ${v}`);

  it('restarts on a valid, verified model every time and finishes the install', async () => {
    const publish = async (v: number) => {
      const model = fleetModel('confident', v, MODEL_BYTES);
      await api.publishModel(testManifest(model, { modelVersion: v }), new Map([['model.onnx', model]]));
    };
    await publish(1);
    agent = new AgentProcess(configPath);
    await agent.waitFor((l) => l.msg === 'agent started', 'start');
    await api.assign(1, { deviceIds: [DEVICE] });
    await onVersion(1);

    const killAfter = (msg: string, delayMs = 0) => ({ msg, delayMs });
    const killPoints = [
      killAfter('download started'),
      killAfter('download started', 150),
      killAfter('download started', 350),
      killAfter('slot committed'),
      killAfter('smoke test passed'),
      killAfter('pointer written'),
      killAfter('model installed'),
    ];
    const store = new ModelStore(dataDir);
    const keys = [t.cp.signingPublicKey];
    let previous = 1;
    let resumedDownloads = 0;
    for (const [i, point] of killPoints.entries()) {
      const version = i + 2;
      await publish(version);
      const current = agent!;
      const trigger = current.waitFor(
        (l) => l.msg === point.msg && l.modelVersion === version,
        `${point.msg} of version ${version}`,
      );
      await api.assign(version, { deviceIds: [DEVICE] });
      await trigger;
      if (point.delayMs) await new Promise((r) => setTimeout(r, point.delayMs));
      await current.kill();

      // What a power cut leaves on disk: the pointer names a complete, verified slot.
      const pointer = await store.readPointer();
      expect(pointer, `pointer after a kill at ${point.msg}+${point.delayMs}ms`).not.toBeNull();
      expect([previous, version]).toContain(pointer!.modelVersion);
      const manifest = await store.readSlot(pointer!.slot, keys, true);
      expect(manifest?.modelVersion).toBe(pointer!.modelVersion);

      agent = new AgentProcess(configPath);
      const loaded = await agent.waitFor(
        (l) => l.msg === 'active model loaded from disk',
        'a model from disk',
      );
      expect(loaded.modelVersion).toBe(pointer!.modelVersion);
      await onVersion(version);
      if (agent.lines.some((l) => l.msg === 'resuming download' && l.resumed === true)) resumedDownloads++;
      previous = version;
    }
    // The mid-download kills left partial files that the restarted agent continued with a Range.
    expect(resumedDownloads).toBeGreaterThanOrEqual(1);
  }, 400_000); // eight agent process starts, each loading onnxruntime and sharp afresh: 5–20 s each at load 20
});
