/**
 * The fuzz run behind `edgeloop bench fuzz` and its bounded test: a real control plane process,
 * one enrolled device, then about `inputs` hostile inputs split over HTTP bodies for every route
 * (55%), MQTT payloads on every device topic (20%), image and multipart uploads (15%) and
 * tampered manifests (10%). Returns the figures; never throws for a defect it finds.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiRoutes, createRng, routeUrl } from '@edgeloop/shared';
import { startFuzzTarget } from './fuzz-target.ts';
import { fuzzHttp } from './http-fuzz.ts';
import { fuzzUploads } from './image-fuzz.ts';
import { fuzzManifests } from './manifest-fuzz.ts';
import { fuzzMqtt } from './mqtt-fuzz.ts';
import { type ClassFigures, Recorder } from './recorder.ts';
import { openStateReader } from './state-digest.ts';

export interface FuzzFigures {
  inputs: number;
  crashes: number;
  unexpected5xx: number;
  stateChangedByRejected: number;
  /** Tampered manifests that verified, or refusals without a named error (0 expected). */
  otherDefects: number;
  rejected: number;
  seed: number;
  seconds: number;
  byArea: Record<string, number>;
  classes: Record<string, ClassFigures>;
  /** The first defects found, in words (empty when there are none). */
  defects: string[];
}

export async function runFuzz(options: {
  inputs: number;
  seed: number;
  log?: (s: string) => void;
}): Promise<FuzzFigures> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const root = await mkdtemp(join(tmpdir(), 'edgeloop-fuzz-'));
  const target = await startFuzzTarget(root);
  const rng = createRng(options.seed);
  try {
    const admin = { authorization: `Bearer ${target.adminToken}`, 'content-type': 'application/json' };
    const tokenRes = await fetch(`${target.httpUrl}${routeUrl(apiRoutes.createEnrollmentToken, {})}`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ protocol: 1, uses: 2 }),
    });
    const { token } = (await tokenRes.json()) as { token: string };
    const enroll = async (deviceId: string) => {
      const enrolled = await fetch(`${target.httpUrl}${routeUrl(apiRoutes.enrollDevice, {})}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ protocol: 1, token, deviceId }),
      });
      return (await enrolled.json()) as { deviceId: string; secret: string };
    };
    // The HTTP fuzz calls every route as its device, rotateDeviceSecret among them (an accepted
    // rotation changes that device's secret), so MQTT and uploads use a device of their own.
    const httpDevice = await enroll('fuzz-http-cam');
    const device = await enroll('fuzz-cam');
    const state = openStateReader(join(target.dataDir, 'control-plane.db'), join(target.dataDir, 'objects'));
    const recorder = new Recorder(state, target);
    const callers = { baseUrl: target.httpUrl, adminToken: target.adminToken, device };
    const httpCallers = { ...callers, device: httpDevice };
    const byArea: Record<string, number> = {};
    const area = async (name: string, share: number, run: (budget: number) => Promise<void>) => {
      const before = recorder.inputs;
      if (!target.exited) await run(Math.max(1, Math.round(options.inputs * share)));
      byArea[name] = recorder.inputs - before;
      log(`${name}: ${byArea[name]} inputs, ${recorder.unexpected5xx} unexpected 5xx so far`);
    };
    try {
      await area('http', 0.55, (n) => fuzzHttp(httpCallers, recorder, rng, n));
      await area('mqtt', 0.2, (n) => fuzzMqtt(target, device, recorder, rng, n));
      await area('uploads', 0.15, (n) => fuzzUploads(callers, recorder, rng, n));
      await area('manifests', 0.1, (n) => fuzzManifests(recorder, rng, n));
    } finally {
      state.close();
    }
    for (const line of target.errorLines.slice(0, 5)) recorder.note(`control plane logged: ${line}`);
    return {
      inputs: recorder.inputs,
      crashes: recorder.crashes,
      unexpected5xx: recorder.unexpected5xx,
      stateChangedByRejected: recorder.stateChangedByRejected,
      otherDefects: recorder.otherDefects,
      rejected: recorder.rejected,
      seed: options.seed,
      seconds: Math.round((Date.now() - started) / 100) / 10,
      byArea,
      classes: recorder.classes,
      defects: recorder.defects,
    };
  } finally {
    await target.stop();
    await rm(root, { recursive: true, force: true });
  }
}
