/**
 * The retraining pipeline on a real control plane, with the real `edgeloop train` and
 * `edgeloop predict` as its child processes (tiny 32 px data, one epoch).
 */
import { type PipelineRun, PipelineRunSchema } from '@edgeloop/shared';
import sharp from 'sharp';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pipelineCommand } from '../../../cli/commands/pipeline.ts';
import { runCommand } from '../../../cli/options/run-command.ts';
import { edgeloopArgv } from '../../helpers/edgeloop-cli.ts';
import {
  createToken,
  type Device,
  enroll,
  jsonBody,
  startTestControlPlane,
  type TestControlPlane,
} from './helpers.ts';
import { sampleMetadata, uploadSample } from './sample-helpers.ts';

let t: TestControlPlane;
afterEach(async () => {
  await t.stop();
});

/** A 32 px image of one colour family, varied by `i` so every image has its own bytes. */
async function colourImage(colour: 'red' | 'blue', i: number): Promise<Uint8Array> {
  const raw = Buffer.alloc(32 * 32 * 3);
  for (let p = 0; p < 32 * 32; p++) {
    raw[p * 3 + (colour === 'red' ? 0 : 2)] = 180 + ((p * 7 + i * 13) % 70);
    raw[p * 3 + 1] = (p * 3 + i * 11) % 60;
  }
  return new Uint8Array(
    await sharp(raw, { raw: { width: 32, height: 32, channels: 3 } })
      .png()
      .toBuffer(),
  );
}

async function addImages(dataset: string, count: number, offset: number) {
  for (const colour of ['red', 'blue'] as const) {
    for (let i = 0; i < count; i++) {
      const form = new FormData();
      form.set('label', colour);
      form.set('image', new Blob([await colourImage(colour, offset + i)]), `${colour}-${i}.png`);
      const res = await t.api(`/datasets/${dataset}/images`, { method: 'POST', body: form, admin: true });
      expect(res.status).toBe(201);
    }
  }
}

async function trigger(actor = 'grace'): Promise<PipelineRun> {
  const res = await t.api('/pipeline/runs', {
    ...jsonBody({ protocol: 1 }),
    headers: { 'content-type': 'application/json', 'x-edgeloop-actor': actor },
    admin: true,
  });
  expect(res.status).toBe(202);
  return PipelineRunSchema.parse(await res.json());
}

async function run(id: string): Promise<PipelineRun> {
  return PipelineRunSchema.parse(await (await t.api(`/pipeline/runs/${id}`, { admin: true })).json());
}

const step = (r: PipelineRun, name: string) => r.steps.find((s) => s.name === name)!;

describe('retraining pipeline', () => {
  it('retries a failing step, reports it, and makes a second trigger wait for the first run', async () => {
    t = await startTestControlPlane({
      // A real training that fails every time: 33 px is not a multiple of 32.
      pipeline: {
        trainCommand: edgeloopArgv('train'),
        predictCommand: edgeloopArgv('predict'),
        candidates: [{ name: 'bad-size', args: ['--input-size', '33', '--epochs', '1'] }],
        retries: 1,
      },
    });
    await addImages('base', 2, 0);

    const first = await trigger();
    const second = await trigger('heidi');
    expect((await run(first.id)).status).toBe('running');
    expect(second.status).toBe('queued');
    expect(second.requestedBy).toBe('heidi');

    await t.cp.pipeline.idle();
    const a = await run(first.id);
    expect(a.status).toBe('failed');
    expect(a.error).toMatch(/step 'train' failed after 2 attempts/);
    expect(step(a, 'snapshot')).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(step(a, 'snapshot').artifacts.datasetVersion).toMatch(/^ds-/);
    expect(step(a, 'train')).toMatchObject({ status: 'failed', attempts: 2 });
    expect(step(a, 'train').log).toMatch(/attempt 1 failed[\s\S]*retrying[\s\S]*attempt 2 failed/);
    expect(step(a, 'train').durationMs).toBeGreaterThan(0);
    expect(step(a, 'register').status).toBe('cancelled');
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((text) => {
      out.push(String(text));
      return true;
    });
    const args = ['--control-plane', t.cp.httpUrl, '--admin-token', t.cp.adminToken];
    expect(await runCommand(pipelineCommand, ['show', first.id, ...args])).toBe(0);
    vi.restoreAllMocks();
    expect(out.join('')).toMatch(/train\s+failed\s+attempts 2/);

    const b = await run(second.id);
    expect(b.status).toBe('failed');
    expect(Date.parse(b.startedAt!)).toBeGreaterThanOrEqual(Date.parse(a.finishedAt!));

    // Cancel: a queued run never starts; a running one stops its training child.
    const c = await trigger();
    const d = await trigger();
    const cancelled = await t.api(`/pipeline/runs/${d.id}/cancel`, { method: 'POST', admin: true });
    expect(PipelineRunSchema.parse(await cancelled.json()).status).toBe('cancelled');
    await t.api(`/pipeline/runs/${c.id}/cancel`, { method: 'POST', admin: true });
    await t.cp.pipeline.idle();
    expect((await run(c.id)).status).toBe('cancelled');
    expect((await run(d.id)).startedAt).toBeNull();
    const history = (await (await t.api('/pipeline/runs', { admin: true })).json()) as {
      runs: PipelineRun[];
    };
    expect(history.runs.map((r) => r.id)).toEqual([d.id, c.id, second.id, first.id]);
  });

  it('trains a candidate on a dataset version, evaluates it on the fixed and field-hard sets, registers and promotes it', async () => {
    t = await startTestControlPlane({
      pipeline: {
        trainCommand: edgeloopArgv('train'),
        predictCommand: edgeloopArgv('predict'),
        candidates: [
          {
            name: 'tiny',
            args: ['--input-size', '32', '--epochs', '1', '--batch-size', '4'],
            fromParentArgs: ['--learning-rate', '0.0005'],
          },
        ],
        retries: 0,
        canaryGroup: 'canary',
      },
    });
    const token = await createToken(t, { group: 'canary' });
    const enrolled = await t.api('/devices/enroll', jsonBody({ protocol: 1, token, deviceId: 'cam-canary' }));
    expect(enrolled.status).toBe(201);
    await addImages('base', 4, 0);
    await addImages('eval', 2, 100);
    // Labelled field samples; the hash rule sends some of them to field-hard.
    const cam: Device = await enroll(t, 'cam-1');
    for (let i = 0; i < 8; i++) {
      const colour = i % 2 === 0 ? 'red' : 'blue';
      const meta = sampleMetadata(`pipe-${i}`, [{ label: colour, confidence: 0.4 }]);
      const { body } = await uploadSample(t, cam, meta, await colourImage(colour, 200 + i));
      await t.api(`/labelling/samples/${body.sampleId}`, {
        ...jsonBody({ protocol: 1, action: 'confirm' }),
        admin: true,
      });
    }

    const started = await trigger();
    await t.cp.pipeline.idle();
    const r = await run(started.id);
    expect(r.error).toBeNull();
    expect(r.status).toBe('succeeded');
    const snapshot = step(r, 'snapshot').artifacts as {
      datasetVersion: string;
      counts: Record<string, number>;
    };
    expect(snapshot.counts.validation).toBe(4);
    const evaluated = step(r, 'evaluate').artifacts.candidates as {
      fixedAccuracy: number;
      fieldHard: unknown;
    }[];
    expect(evaluated[0].fixedAccuracy).toBeGreaterThanOrEqual(0);
    expect(evaluated[0].fieldHard).toMatchObject({ images: snapshot.counts['field-hard'] });
    expect(snapshot.counts['field-hard']).toBeGreaterThan(0);
    const registered = step(r, 'register').artifacts as { modelVersion: number };
    expect(registered.modelVersion).toBe(1);
    expect(step(r, 'promote').artifacts).toMatchObject({ promoted: true, production: null });
    // Promoted, so a staged rollout opens for the canary group only (canaryGroup shorthand).
    const canary = step(r, 'canary').artifacts as { rolloutId: string };
    expect(canary).toEqual({
      rolloutId: expect.stringMatching(/^rol-/),
      target: { group: 'canary' },
      waves: [1, 0],
      devices: ['cam-canary'],
    });
    const rollout = (await (await t.api(`/rollouts/${canary.rolloutId}`, { admin: true })).json()) as {
      modelVersion: number;
      devices: { deviceId: string; state: string }[];
    };
    expect(rollout.modelVersion).toBe(1);
    expect(rollout.devices).toMatchObject([{ deviceId: 'cam-canary', state: 'notified' }]);
    expect((await t.cp.store.devices.get('cam-canary'))?.desiredVersion).toBe(1);
    expect((await t.cp.store.devices.get('cam-1'))?.desiredVersion).toBeNull();

    const details = (await (await t.api('/models/1/details', { admin: true })).json()) as {
      lineage: { datasetVersion: string; createdBy: string };
      aliases: string[];
    };
    expect(details.lineage).toMatchObject({ datasetVersion: snapshot.datasetVersion, createdBy: 'pipeline' });
    expect(details.aliases.sort()).toEqual(['candidate', 'production']);
    // The published model is a real, signed version a device can download.
    const manifest = (await (await t.api('/models/1/manifest', { admin: true })).json()) as {
      labels: string[];
    };
    expect(manifest.labels).toEqual(['blue', 'red']);
    // Every labelled sample in the dataset version is recorded as used by the version it trained.
    const samples = (await t.cp.store.samples.list({ labelled: true, limit: 100, offset: 0 })).samples;
    expect(samples.map((s) => s.usedInModelVersion)).toEqual(Array(8).fill(1));

    // The next run continues from the production model's weights: same candidate, same classes.
    const again = await trigger();
    await t.cp.pipeline.idle();
    const second = await run(again.id);
    expect(second.error).toBeNull();
    expect(step(second, 'train').log).toContain('continues from version 1');
    expect(step(second, 'register').artifacts).toMatchObject({ modelVersion: 2, fieldSamples: 8 });
    const lineage2 = (await (await t.api('/models/2/details', { admin: true })).json()) as {
      lineage: { parentVersion: number; parameters: { args: string[]; initFrom: string } };
    };
    expect(lineage2.lineage.parentVersion).toBe(1);
    expect(lineage2.lineage.parameters.initFrom).toContain(started.id);
    expect(lineage2.lineage.parameters.args).toEqual(
      expect.arrayContaining(['--init-from', lineage2.lineage.parameters.initFrom, '--learning-rate']),
    );
  });

  it('refuses to start with a canary rollout that has no target', async () => {
    await expect(
      startTestControlPlane({ pipeline: { canary: { strategy: { soakSeconds: 60 } } } }),
    ).rejects.toThrow(/pipeline.canary needs a target/);
    // So afterEach has something to stop.
    t = await startTestControlPlane();
  });

  it('starts runs from its cron schedule and after N new labels', async () => {
    t = await startTestControlPlane({
      pipeline: {
        trainCommand: edgeloopArgv('train'),
        candidates: [{ name: 'bad-size', args: ['--input-size', '33'] }],
        retries: 0,
        newLabelsThreshold: 2,
        labelCheckSeconds: 0.2,
      },
    });
    await addImages('base', 1, 0);
    const cam = await enroll(t, 'cam-1');
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const meta = sampleMetadata(`trig-${i}`, [{ label: 'red', confidence: 0.3 }]);
      ids.push((await uploadSample(t, cam, meta, await colourImage('red', 300 + i))).body.sampleId);
    }
    await t.api('/labelling/samples/' + ids[0], {
      ...jsonBody({ protocol: 1, action: 'confirm' }),
      admin: true,
    });
    await t.api('/labelling/samples/' + ids[1], {
      ...jsonBody({ protocol: 1, action: 'confirm' }),
      admin: true,
    });
    const queued = await t.logs.waitFor((e) => e.msg === 'pipeline run queued' && e.trigger === 'labels');
    expect(queued.actor).toBe('pipeline');
    await t.cp.pipeline.idle();

    // Every second, for the schedule's part (node-cron accepts a seconds field).
    await t.stop();
    t = await startTestControlPlane({
      pipeline: {
        trainCommand: edgeloopArgv('train'),
        candidates: [{ name: 'x', args: ['--input-size', '33'] }],
        retries: 0,
        schedule: '* * * * * *',
      },
    });
    await t.logs.waitFor((e) => e.msg === 'pipeline run queued' && e.trigger === 'schedule');
  });
});
