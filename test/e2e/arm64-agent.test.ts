/**
 * The agent on Linux arm64, under emulation: the arm64 bundle (official Node 20 arm64,
 * onnxruntime-node's and sharp's arm64 binaries, the agent compiled to JavaScript) runs through
 * qemu-user (binfmt_misc, set up with the arm64 C libraries by .ci/arm64-emulation.sh) against a
 * real control plane on the host: it enrolls, gets a model through a rollout, classifies frames
 * from an ffmpeg camera, uploads a low-confidence sample, and after a SIGKILL comes back on the
 * same verified model.
 *
 * The camera's ffmpeg is the host's x86-64 one: the capture is a separate program that the agent
 * reads MJPEG from, so which architecture it is does not change what is proven here (Node,
 * onnxruntime and sharp on arm64), and emulating it would only slow frames down. Timings printed
 * here are EMULATED (qemu on x86-64), not what a Raspberry Pi does.
 */
import { execFileSync } from 'node:child_process';
import { readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARM64_SYSROOT, buildTestBundle, type UnpackedBundle } from '../helpers/agent-bundle.ts';
import { withArmCpuinfo } from '../helpers/arm-cpuinfo.ts';
import { JsonLogProcess } from '../helpers/json-log-process.ts';
import { testManifest } from '../helpers/manifest-fixture.ts';
import {
  createToken,
  startTestControlPlane,
  type TestControlPlane,
} from '../integration/control-plane/helpers.ts';
import { fleetModel, freePort, waitUntil } from '../integration/rollouts/fleet.ts';

const DEVICE = 'pi-emulated';

describe('the arm64 agent bundle under qemu', () => {
  let t: TestControlPlane;
  let api: ApiClient;
  let bundle: UnpackedBundle;
  let configPath: string;
  let agent: JsonLogProcess | null = null;

  const start = () =>
    new JsonLogProcess(...withArmCpuinfo(join(bundle.dir, 'bin/edgeloop-agent'), ['--config', configPath]), {
      env: {
        ...process.env,
        QEMU_LD_PREFIX: ARM64_SYSROOT,
        EDGELOOP_AGENT_DATA_DIR: join(t.dataDir, 'agent'),
      },
    });

  beforeAll(async () => {
    t = await startTestControlPlane({
      http: { host: '127.0.0.1', port: await freePort() },
      mqtt: { host: '127.0.0.1', port: await freePort() },
      rollouts: { tickMs: 200 },
      logLevel: 'info',
    });
    api = new ApiClient(t.cp.httpUrl, t.cp.adminToken);
    bundle = await buildTestBundle('arm64', join(t.dataDir, 'signing-key.json'), t.dataDir);
    configPath = join(t.dataDir, 'agent.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        controlPlaneUrl: t.cp.httpUrl,
        enrollmentToken: await createToken(t),
        deviceId: DEVICE,
        trustedKeys: [t.cp.signingPublicKey],
        camera: {
          type: 'ffmpeg',
          input: ['-re', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=4'],
          fps: 2,
        },
        // The test model is ~0.998 sure of every frame: under this threshold, every frame is a sample.
        samples: { lowConfidenceThreshold: 0.999, duplicateDistance: 0, maxPerMinute: 30 },
        inference: { threads: 1 },
        reportIntervalMs: 1000,
        logLevel: 'info',
      }),
    );
  }, 240_000);

  afterAll(async () => {
    await agent?.kill();
    await t?.stop();
  });

  it('enrolls, installs a model through a rollout, classifies, uploads a sample and survives a kill', async () => {
    // The Node in the bundle is an arm64 program; the process runs it under qemu.
    expect(execFileSync('file', ['-L', join(bundle.dir, 'node/bin/node')], { encoding: 'utf8' })).toMatch(
      /ARM aarch64/,
    );
    const startedAt = performance.now();
    agent = start();
    const running = await agent.waitFor((l) => /running on/.test(l.text ?? ''), 'running', 120_000);
    const enrolledAt = performance.now();
    // The agent's own report of what it runs on: Node's process.arch inside the emulated process.
    expect(running.text).toMatch(/running on linux\/arm64, node v20\./);
    // binfmt_misc hands the arm64 binary to qemu: the kernel shows qemu as the executable.
    const exe = readlinkSync(`/proc/${agent.child.pid}/exe`);
    expect(exe).toMatch(/qemu-aarch64/);

    await api.publishModel(
      testManifest(fleetModel('confident', 1), { modelVersion: 1 }),
      new Map([['model.onnx', fleetModel('confident', 1)]]),
    );
    const created = await api.createRollout({
      modelVersion: 1,
      target: { all: true },
      strategy: {
        waves: [{ percent: 100 }],
        soakSeconds: 1,
        deviceTimeoutSeconds: 180,
        gates: { minPredictions: 3 },
      },
    });
    await waitUntil(
      async () => (await api.getRollout(created.rolloutId)).state === 'completed',
      'the rollout to complete',
      180_000,
    );
    const firstPrediction = await waitUntil(
      async () => {
        const d = await t.cp.store.devices.get(DEVICE);
        return d && d.reportedVersion === 1 && d.framesProcessed > 0 ? performance.now() : null;
      },
      'a classified frame',
      60_000,
    );

    const samples = await waitUntil(
      async () => {
        const all = await api.allSamples();
        return all.length > 0 ? all : null;
      },
      'a low-confidence sample upload',
      60_000,
    );
    expect(samples[0].deviceId).toBe(DEVICE);
    const health = await waitUntil(
      async () => (await t.cp.store.devices.get(DEVICE))?.health?.latencyP50Ms,
      'a latency figure',
    );
    console.log(
      `arm64 EMULATED (qemu-user on x86-64, not device figures): per-frame latency p50 ${Math.round(health)} ms; ` +
        `start to enrolled ${Math.round((enrolledAt - startedAt) / 1000)} s; start to first prediction ${Math.round((firstPrediction - startedAt) / 1000)} s ` +
        `(enrolled to first prediction ${Math.round((firstPrediction - enrolledAt) / 1000)} s, includes the rollout); /proc/PID/exe ${exe}`,
    );

    // A power cut: SIGKILL, start again; the agent comes back on the verified model from disk.
    await agent.kill();
    const framesBefore = (await t.cp.store.devices.get(DEVICE))!.framesProcessed;
    agent = start();
    const loaded = await agent.waitFor(
      (l) => l.msg === 'active model loaded from disk',
      'a model from disk',
      120_000,
    );
    expect(loaded.modelVersion).toBe(1);
    await waitUntil(
      async () => {
        const d = await t.cp.store.devices.get(DEVICE);
        return (
          d?.status === 'running' &&
          d.reportedVersion === 1 &&
          d.framesProcessed > 0 &&
          d.framesProcessed !== framesBefore
        );
      },
      'classifying again after the restart',
      120_000,
    );
  }, 600_000);
});
