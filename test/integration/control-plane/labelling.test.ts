import { compactEmbedding, LabelledSampleSchema, LabelQueueSchema } from '@edgeloop/shared';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { labelCommand } from '../../../cli/commands/label.ts';
import { runCommand } from '../../../cli/options/run-command.ts';
import { type Device, enroll, jsonBody, startTestControlPlane, type TestControlPlane } from './helpers.ts';
import { sampleFrom, sampleMetadata, testImage, uploadSample } from './sample-helpers.ts';

let t: TestControlPlane;
let cam1: Device;
let cam2: Device;

beforeEach(async () => {
  t = await startTestControlPlane();
  cam1 = await enroll(t, 'cam-1');
  cam2 = await enroll(t, 'cam-2');
});
afterEach(async () => {
  await t.stop();
});

function act(id: string, body: object, actor = 'alice') {
  return t.api(`/labelling/samples/${id}`, {
    ...jsonBody({ protocol: 1, ...body }),
    headers: { 'content-type': 'application/json', 'x-edgeloop-actor': actor },
    admin: true,
  });
}

async function queue(limit = 50) {
  const res = await t.api(`/labelling/queue?limit=${limit}`, { admin: true });
  expect(res.status).toBe(200);
  return LabelQueueSchema.parse(await res.json());
}

describe('sample intake', () => {
  it('stores an image sent again under a new idempotency key (or by another device) once', async () => {
    const image = await testImage(1);
    const first = await uploadSample(
      t,
      cam1,
      sampleMetadata('a', [{ label: 'cat', confidence: 0.4 }]),
      image,
    );
    expect(first.status).toBe(201);
    const again = await uploadSample(
      t,
      cam2,
      sampleMetadata('b', [{ label: 'dog', confidence: 0.3 }]),
      image,
    );
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ sampleId: first.body.sampleId, duplicate: true });
    expect((await queue()).total).toBe(1);
  });

  it('refuses an image over the configured pixel limit with 413 and stores nothing', async () => {
    await t.stop();
    t = await startTestControlPlane({
      limits: { sampleMaxBytes: 1 << 20, sampleMaxPixels: 500, modelMaxBytes: 1 << 20 },
    });
    cam1 = await enroll(t, 'cam-1');
    const big = await uploadSample(t, cam1, sampleMetadata('big', []), await testImage(1, 'png', 24)); // 576 px
    expect(big.status).toBe(413);
    const small = await uploadSample(t, cam1, sampleMetadata('small', []), await testImage(1, 'png', 20)); // 400 px
    expect(small.status).toBe(201);
    expect(await t.cp.objects.list('samples/')).toHaveLength(1);
  });
});

describe('labelling queue', () => {
  it('puts the least sure first and interleaves devices and predicted classes', async () => {
    const ids: Record<string, string> = {};
    ids.c30 = await sampleFrom(t, cam1, 1, 'circle', 0.3);
    ids.c31 = await sampleFrom(t, cam1, 2, 'circle', 0.31);
    ids.c32 = await sampleFrom(t, cam1, 3, 'circle', 0.32);
    ids.s35 = await sampleFrom(t, cam2, 4, 'square', 0.35);
    ids.s36 = await sampleFrom(t, cam2, 5, 'square', 0.36);
    ids.s50 = await sampleFrom(t, cam1, 6, 'square', 0.5);

    const q = await queue();
    expect(q.total).toBe(6);
    // Pure confidence order would be c30 c31 c32 s35 s36 s50: one camera, one class first. The
    // queue starts with the frame the model was least sure of, then (device, predicted class)
    // groups take turns, each giving the frame least like those already queued (label-queue.ts).
    const order = q.samples.map((s) => s.sampleId);
    expect(order[0]).toBe(ids.c30);
    const groupOf = (id: string) =>
      [ids.c30, ids.c31, ids.c32].includes(id)
        ? 'cam-1 circle'
        : id === ids.s50
          ? 'cam-1 square'
          : 'cam-2 square';
    expect(new Set(order.slice(0, 3).map(groupOf))).toEqual(
      new Set(['cam-1 circle', 'cam-1 square', 'cam-2 square']),
    );
    expect(new Set(order)).toEqual(new Set(Object.values(ids)));
    expect(q.samples[0]).toMatchObject({ preLabel: 'circle', labelStatus: null, deviceId: 'cam-1' });
    expect((await queue(2)).samples).toHaveLength(2);

    // A skipped frame goes behind every frame nobody has looked at.
    expect((await act(ids.c30, { action: 'skip' })).status).toBe(200);
    const after = await queue();
    expect(after.samples.at(-1)?.sampleId).toBe(ids.c30);
    expect(after.total).toBe(6);
  });
});

describe('frame embeddings', () => {
  // Two frames the model sees as the same picture (equal embeddings) and a third it sees
  // differently. Their top-3 say the opposite: the odd frame's top-3 matches the first copy's.
  const copy = compactEmbedding(Array.from({ length: 32 }, (_, i) => Math.sin(i)));
  const other = compactEmbedding(Array.from({ length: 32 }, (_, i) => Math.cos(3 * i)));

  it('stores the embedding a device sends and spends a batch on different frames, not copies', async () => {
    const upload = async (seed: number, topK: [string, number][], embedding: number[]) => {
      const meta = {
        ...sampleMetadata(
          `emb-${seed}`,
          topK.map(([label, confidence]) => ({ label, confidence })),
        ),
        embedding,
      };
      const { status, body } = await uploadSample(t, cam1, meta, await testImage(seed));
      expect(status).toBe(201);
      return body.sampleId;
    };
    const first = await upload(
      1,
      [
        ['cat', 0.5],
        ['dog', 0.48],
        ['fox', 0.02],
      ],
      copy,
    );
    const second = await upload(
      2,
      [
        ['cat', 0.45],
        ['fox', 0.42],
        ['dog', 0.13],
      ],
      copy,
    );
    const odd = await upload(
      3,
      [
        ['cat', 0.5],
        ['dog', 0.45],
        ['fox', 0.05],
      ],
      other,
    );
    expect((await t.cp.store.labelling.getLabelled(second))?.embedding).toEqual(copy);

    const batch = (await queue(2)).samples.map((s) => s.sampleId);
    expect(batch).toEqual([first, odd]);
    // The embedding stays inside the control plane: the API's samples do not carry it.
    expect((await queue(2)).samples[0]).not.toHaveProperty('embedding');
  });

  it('does not offer again a scene someone already labelled while another waits', async () => {
    const upload = async (seed: number, gap: number, embedding: number[]) => {
      const topK = [
        { label: 'cat', confidence: 0.5 },
        { label: 'dog', confidence: 0.5 - gap },
      ];
      const meta = { ...sampleMetadata(`seen-${seed}`, topK), embedding };
      const { status, body } = await uploadSample(t, cam1, meta, await testImage(seed));
      expect(status).toBe(201);
      return body.sampleId;
    };
    const labelledScene = await upload(1, 0.2, copy);
    const again = await upload(2, 0.01, copy);
    const odd = await upload(3, 0.05, other);
    // Before anything is labelled, the most torn frame comes first.
    expect((await queue(1)).samples.map((s) => s.sampleId)).toEqual([again]);
    expect((await act(labelledScene, { action: 'confirm' })).status).toBe(200);
    expect(await t.cp.store.labelling.labelledEmbeddings(10)).toEqual([copy]);
    expect((await queue(1)).samples.map((s) => s.sampleId)).toEqual([odd]);
    expect((await queue(2)).samples.map((s) => s.sampleId)).toEqual([odd, again]);
  });

  it('refuses an embedding that is too long or not int8 with a named error, storing nothing', async () => {
    for (const embedding of [new Array(129).fill(1), new Array(64).fill(0.5), new Array(64).fill(300)]) {
      const meta = { ...sampleMetadata(`bad-${embedding.length}-${embedding[0]}`, []), embedding };
      const res = await t.api('/samples', { method: 'POST', body: await formOfImage(meta), device: cam1 });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('VALIDATION_FAILED');
      expect(body.error.message).toMatch(/embedding/);
    }
    expect((await queue()).total).toBe(0);
  });
});

async function formOfImage(meta: object) {
  const form = new FormData();
  form.set('metadata', JSON.stringify(meta));
  form.set('image', new Blob([await testImage(99)]), 'frame.png');
  return form;
}

describe('label actions', () => {
  it('confirms, corrects, marks none-of-the-classes and keeps who and when for each', async () => {
    const a = await sampleFrom(t, cam1, 1, 'circle', 0.4, 'square');
    const b = await sampleFrom(t, cam1, 2, 'circle', 0.45, 'square');
    const c = await sampleFrom(t, cam2, 3, 'square', 0.2, 'circle');
    await t.api('/classes', { ...jsonBody({ protocol: 1, name: 'circle' }), admin: true });
    await t.api('/classes', { ...jsonBody({ protocol: 1, name: 'square' }), admin: true });

    const confirmed = LabelledSampleSchema.parse(await (await act(a, { action: 'confirm' })).json());
    expect(confirmed).toMatchObject({ label: 'circle', labelStatus: 'confirmed', labelledBy: 'alice' });
    expect(Date.parse(confirmed.labelledAt!)).toBeGreaterThan(Date.now() - 60_000);

    const corrected = LabelledSampleSchema.parse(
      await (await act(b, { action: 'correct', label: 'square' }, 'bob')).json(),
    );
    expect(corrected).toMatchObject({
      label: 'square',
      labelStatus: 'corrected',
      labelledBy: 'bob',
      preLabel: 'circle',
    });

    // A typo is not a new class unless the labeller says so.
    const typo = await act(c, { action: 'correct', label: 'triangel' });
    expect(typo.status).toBe(400);
    const added = await act(c, { action: 'correct', label: 'triangle', newClass: true });
    expect(LabelledSampleSchema.parse(await added.json())).toMatchObject({
      label: 'triangle',
      labelStatus: 'corrected',
    });
    const classes = (await (await t.api('/classes', { admin: true })).json()) as {
      classes: { name: string }[];
    };
    expect(classes.classes.map((x) => x.name)).toEqual(['circle', 'square', 'triangle']);

    const none = LabelledSampleSchema.parse(await (await act(c, { action: 'none' }, 'carol')).json());
    expect(none).toMatchObject({ label: null, labelStatus: 'none', labelledBy: 'carol' });

    const history = (await (await t.api(`/labelling/samples/${c}`, { admin: true })).json()) as {
      history: { action: string; label: string | null; actor: string }[];
    };
    expect(history.history.map(({ action, label, actor }) => ({ action, label, actor }))).toEqual([
      { action: 'correct', label: 'triangle', actor: 'alice' },
      { action: 'none', label: null, actor: 'carol' },
    ]);
    expect((await queue()).total).toBe(0);
    expect((await act('smp-nope', { action: 'confirm' })).status).toBe(404);
    expect((await act(a, { action: 'correct' })).status).toBe(400);
    const badActor = await t.api(`/labelling/samples/${a}`, {
      ...jsonBody({ protocol: 1, action: 'confirm' }),
      headers: { 'content-type': 'application/json', 'x-edgeloop-actor': 'not a name!' },
      admin: true,
    });
    expect(badActor.status).toBe(400);
  });

  it('bulk-confirms the device predictions of unlabelled samples and says why it skipped others', async () => {
    const a = await sampleFrom(t, cam1, 1, 'circle', 0.4);
    const b = await sampleFrom(t, cam2, 2, 'square', 0.3);
    const c = await sampleFrom(t, cam2, 3, 'square', 0.35);
    await act(c, { action: 'none' });
    const res = await t.api('/labelling/bulk-confirm', {
      ...jsonBody({ protocol: 1, sampleIds: [a, b, c, 'smp-missing'] }),
      headers: { 'content-type': 'application/json', 'x-edgeloop-actor': 'dave' },
      admin: true,
    });
    expect(await res.json()).toEqual({
      confirmed: [a, b],
      skipped: [
        { sampleId: c, reason: 'already none' },
        { sampleId: 'smp-missing', reason: 'not found' },
      ],
    });
    const sample = LabelledSampleSchema.parse(
      ((await (await t.api(`/labelling/samples/${b}`, { admin: true })).json()) as { sample: unknown })
        .sample,
    );
    expect(sample).toMatchObject({ label: 'square', labelStatus: 'confirmed', labelledBy: 'dave' });
  });

  it('labels only through the labelling routes: the old free-form call is gone', async () => {
    const a = await sampleFrom(t, cam1, 1, 'circle', 0.4);
    const old = await t.api(`/samples/${a}/label`, {
      ...jsonBody({ protocol: 1, label: 'hexagon', labelledBy: 'demo-auto-labeller' }),
      admin: true,
    });
    expect(old.status).toBe(404);
    const res = await t.api(`/labelling/samples/${a}`, {
      ...jsonBody({ protocol: 1, action: 'correct', label: 'hexagon', newClass: true }),
      admin: true,
      headers: { 'content-type': 'application/json', 'x-edgeloop-actor': 'demo-auto-labeller' },
    });
    expect(res.status).toBe(200);
    expect(LabelledSampleSchema.parse(await res.json())).toMatchObject({
      label: 'hexagon',
      labelStatus: 'corrected',
      labelledBy: 'demo-auto-labeller',
    });
    const classes = (await (await t.api('/classes', { admin: true })).json()) as {
      classes: { name: string }[];
    };
    expect(classes.classes.map((x) => x.name)).toContain('hexagon');
  });
});

describe('edgeloop label', () => {
  it('lists the queue, bulk-confirms and corrects from the command line, as the named actor', async () => {
    const a = await sampleFrom(t, cam1, 1, 'circle', 0.3, 'square');
    const b = await sampleFrom(t, cam2, 2, 'square', 0.4, 'circle');
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((text) => {
      out.push(String(text));
      return true;
    });
    const cli = (...args: string[]) =>
      runCommand(labelCommand, [
        ...args,
        '--control-plane',
        t.cp.httpUrl,
        '--admin-token',
        t.cp.adminToken,
        '--actor',
        'ivan',
      ]);
    try {
      expect(await cli('queue')).toBe(0);
      expect(await cli('confirm', a)).toBe(0);
      expect(await cli('correct', b, 'circle', '--new-class')).toBe(0);
    } finally {
      vi.restoreAllMocks();
    }
    expect(out[0]).toMatch(new RegExp(`2 unlabelled[\\s\\S]*${a}\\s+cam-1\\s+circle`));
    const labelled = (await (await t.api(`/labelling/samples/${b}`, { admin: true })).json()) as {
      sample: { label: string; labelStatus: string; labelledBy: string };
    };
    expect(labelled.sample).toMatchObject({ label: 'circle', labelStatus: 'corrected', labelledBy: 'ivan' });
  });
});
