/** The model registry: lineage, aliases, side-by-side comparison and the promotion rule. */
import { randomBytes } from 'node:crypto';
import { ModelComparisonSchema, ModelDetailsSchema, PromotionDecisionSchema } from '@edgeloop/shared';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { modelCommand } from '../../../cli/commands/model.ts';
import { runCommand } from '../../../cli/options/run-command.ts';
import { testManifest } from '../../helpers/manifest-fixture.ts';
import { jsonBody, startTestControlPlane, type TestControlPlane } from './helpers.ts';

let t: TestControlPlane;
beforeEach(async () => {
  t = await startTestControlPlane({ registry: { promotionMargin: 0.02, classTolerance: 0.05 } });
});
afterEach(async () => {
  vi.restoreAllMocks();
  await t.stop();
});

const LABELS = ['cat', 'dog', 'fox'];

/** Trainer-style metrics.json: per-class recall given, confusion rows of 100 images per class. */
function metrics(recalls: number[]) {
  const confusion = recalls.map((r, i) =>
    LABELS.map((_, j) => (i === j ? Math.round(r * 100) : j === (i + 1) % 3 ? 100 - Math.round(r * 100) : 0)),
  );
  return {
    valAccuracy: recalls.reduce((a, b) => a + b, 0) / recalls.length,
    perClass: LABELS.map((label, i) => ({ label, support: 100, precision: 0.9, recall: recalls[i] })),
    confusion,
  };
}

async function publish(version: number, recalls: number[] | null, lineage?: object, actor = 'trainer-bot') {
  const bytes = new Uint8Array(randomBytes(512));
  const form = new FormData();
  form.set('manifest', JSON.stringify(testManifest(bytes, { modelVersion: version, labels: LABELS })));
  if (recalls) form.set('metrics', JSON.stringify(metrics(recalls)));
  if (lineage) form.set('lineage', JSON.stringify(lineage));
  form.set('model.onnx', new Blob([bytes]), 'model.onnx');
  const res = await t.api('/models', {
    method: 'POST',
    body: form,
    admin: true,
    headers: { 'x-edgeloop-actor': actor },
  });
  expect(res.status).toBe(201);
}

async function promote(ref: string) {
  const res = await t.api(`/models/${ref}/promote`, {
    ...jsonBody({ protocol: 1 }),
    headers: { 'content-type': 'application/json', 'x-edgeloop-actor': 'frank' },
    admin: true,
  });
  expect(res.status).toBe(200);
  return PromotionDecisionSchema.parse(await res.json());
}

async function details(ref: string) {
  return ModelDetailsSchema.parse(await (await t.api(`/models/${ref}/details`, { admin: true })).json());
}

describe('registry', () => {
  it('records lineage and who published each version', async () => {
    await publish(1, [0.8, 0.8, 0.8]);
    await publish(2, [0.9, 0.9, 0.9], {
      parameters: { alpha: 0.25, epochs: 5 },
      datasetVersion: 'ds-0123456789abcdef01234567',
      parentVersion: 1,
    });
    expect((await details('2')).lineage).toEqual({
      parameters: {
        architecture: { family: 'tiny-test', quantization: 'fp32' },
        alpha: 0.25,
        epochs: 5,
      },
      datasetVersion: 'ds-0123456789abcdef01234567',
      parentVersion: 1,
      createdBy: 'trainer-bot',
    });
    expect((await details('1')).lineage?.parentVersion).toBeNull();
  });

  it('promotes only a candidate that beats production by the margin without regressing a class', async () => {
    await publish(1, [0.8, 0.8, 0.8]);
    await publish(2, [0.9, 0.88, 0.86]); // clearly better everywhere
    await publish(3, [0.99, 0.99, 0.75]); // 3 points better on average, but fox drops 11
    await publish(4, [0.91, 0.89, 0.87]); // one point better: under the 2-point margin
    await publish(5, null); // no metrics at all

    const first = await promote('1');
    expect(first).toMatchObject({ promoted: true, production: null, actor: 'frank' });
    expect(first.reason).toMatch(/no production model yet/);

    expect(await promote('2')).toMatchObject({ promoted: true, production: 1 });
    const aliases = (await (await t.api('/aliases', { admin: true })).json()) as { aliases: unknown[] };
    expect(aliases.aliases).toMatchObject([{ alias: 'production', modelVersion: 2, setBy: 'frank' }]);

    const regress = await promote('3');
    expect(regress).toMatchObject({ promoted: false, production: 2 });
    expect(regress.reason).toMatch(/fox 86\.0%→75\.0%/);
    const small = await promote('4');
    expect(small.promoted).toBe(false);
    expect(small.reason).toMatch(/below the margin 2\.0%/);
    expect((await promote('5')).reason).toMatch(/no evaluation on the fixed set/);

    // Registered but not promoted, with the reason kept; production is unchanged.
    expect((await details('3')).promotions).toMatchObject([{ promoted: false, reason: regress.reason }]);
    expect((await details('production')).modelVersion).toBe(2);

    // A looser rule for one decision is recorded with that decision.
    const loose = await t.api('/models/3/promote', {
      ...jsonBody({ protocol: 1, tolerance: 0.2 }),
      admin: true,
    });
    expect(PromotionDecisionSchema.parse(await loose.json())).toMatchObject({
      promoted: true,
      details: { rule: { margin: 0.02, tolerance: 0.2 } },
    });
  });

  it('compares two versions per class and by confusion matrix, by number or alias', async () => {
    await publish(1, [0.8, 0.7, 0.9]);
    await publish(2, [0.85, 0.75, 0.8]);
    const setAlias = await t.api('/aliases/candidate', {
      ...jsonBody({ protocol: 1, modelVersion: 2 }),
      method: 'PUT',
      admin: true,
    });
    expect(setAlias.status).toBe(200);
    const res = await t.api('/models/compare?a=1&b=candidate', { admin: true });
    const c = ModelComparisonSchema.parse(await res.json());
    expect(c.a).toBe(1);
    expect(c.b).toBe(2);
    expect(c.accuracy.delta).toBeCloseTo(0.0, 5);
    expect(c.perClass.map((p) => [p.label, Number(p.recallDelta?.toFixed(2))])).toEqual([
      ['cat', 0.05],
      ['dog', 0.05],
      ['fox', -0.1],
    ]);
    expect(c.confusion.a).toEqual({ labels: LABELS, matrix: metrics([0.8, 0.7, 0.9]).confusion });

    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      lines.push(String(s));
      return true;
    });
    const code = await runCommand(modelCommand, [
      'compare',
      '1',
      '2',
      '--control-plane',
      t.cp.httpUrl,
      '--admin-token',
      t.cp.adminToken,
    ]);
    expect(code).toBe(0);
    expect(lines.join('')).toMatch(/fox\s+90\.0%\s+80\.0%\s+-10\.0/);
    expect((await t.api('/models/compare?a=1&b=nope', { admin: true })).status).toBe(404);
    expect(
      (
        await t.api('/aliases/Bad_Name', {
          ...jsonBody({ protocol: 1, modelVersion: 1 }),
          method: 'PUT',
          admin: true,
        })
      ).status,
    ).toBe(400);
  });
});
