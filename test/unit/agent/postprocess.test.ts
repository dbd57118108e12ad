import { describe, expect, it } from 'vitest';
import { classify, softmax, topK } from '../../../agent/src/inference/postprocess.ts';

describe('softmax', () => {
  it('sums to one and keeps the order of the logits', () => {
    const p = softmax([1, 2, 3]);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(p[2]).toBeGreaterThan(p[1]);
    expect(p[0]).toBeCloseTo(Math.exp(1) / (Math.exp(1) + Math.exp(2) + Math.exp(3)), 6);
  });

  it('does not overflow on large logits', () => {
    const p = softmax([1000, 1001]);
    expect(Number.isFinite(p[0])).toBe(true);
    expect(p[1]).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
  });
});

describe('topK', () => {
  const labels = ['cat', 'dog', 'bird', 'fish'];

  it('returns the k best labels, best first', () => {
    expect(topK([0.1, 0.6, 0.25, 0.05], labels, 2)).toEqual([
      { label: 'dog', confidence: 0.6 },
      { label: 'bird', confidence: 0.25 },
    ]);
  });

  it('keeps label order on ties and clamps rounding noise into [0, 1]', () => {
    const scores = topK([0.5, 0.5, 1.0000001, -1e-9], labels, 4);
    expect(scores.map((s) => s.label)).toEqual(['bird', 'cat', 'dog', 'fish']);
    expect(scores[0].confidence).toBe(1);
    expect(scores[3].confidence).toBe(0);
  });

  it('refuses a model whose output does not match its labels', () => {
    expect(() => topK([0.5, 0.5], labels, 1)).toThrow(/2 scores for 4 labels/);
  });
});

describe('classify', () => {
  it('applies softmax to logits and not to probabilities', () => {
    const logits = new Float32Array([2, 0]);
    const fromLogits = classify(logits, { kind: 'logits' }, ['a', 'b'], 1);
    expect(fromLogits[0].label).toBe('a');
    expect(fromLogits[0].confidence).toBeCloseTo(1 / (1 + Math.exp(-2)), 5);
    const probs = classify(new Float32Array([0.3, 0.7]), { kind: 'probabilities' }, ['a', 'b'], 2);
    expect(probs).toEqual([
      { label: 'b', confidence: expect.closeTo(0.7, 6) },
      { label: 'a', confidence: expect.closeTo(0.3, 6) },
    ]);
  });
});
