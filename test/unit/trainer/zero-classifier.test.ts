/**
 * The classifier on a pretrained base starts from zero (seeded-init.ts): before any training the
 * model answers every class equally for any photo, and nothing but the classifier was touched.
 */
import { describe, expect, it } from 'vitest';
import { buildMobileNet } from '../../../trainer/src/model/index.ts';
import { seedKernels, zeroClassifier } from '../../../trainer/src/model/seeded-init.ts';
import { loadTf } from '../../../trainer/src/tf/load-tf.ts';

describe('zeroClassifier', () => {
  it('makes an untrained head answer every class equally and leaves the rest alone', async () => {
    const { tf } = await loadTf();
    const model = buildMobileNet({
      architecture: 'mobilenet_v1',
      alpha: 0.25,
      inputSize: 32,
      numClasses: 4,
      dropout: 0,
    });
    seedKernels(tf, model, 3);
    const others = model.layers
      .filter((l) => l.name !== 'predictions' && l.getWeights().length > 0)
      .map((l) => ({ name: l.name, values: l.getWeights().map((w) => Array.from(w.dataSync())) }));
    const x = tf.randomUniform([3, 32, 32, 3], -1, 1, 'float32', 7);
    const kernel = () => Array.from(model.getLayer('predictions').getWeights()[0].dataSync());
    expect(kernel().some((v) => v !== 0)).toBe(true);

    zeroClassifier(tf, model);

    expect(kernel().every((v) => v === 0)).toBe(true);
    const after = (model.predict(x) as typeof x).arraySync() as number[][];
    for (const row of after) for (const p of row) expect(p).toBeCloseTo(0.25, 6);
    for (const o of others) {
      const now = model
        .getLayer(o.name)
        .getWeights()
        .map((w) => Array.from(w.dataSync()));
      expect(now).toEqual(o.values);
    }
    model.dispose();
  });
});
