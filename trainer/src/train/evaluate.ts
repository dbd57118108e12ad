/** Classification metrics from predicted probabilities (pure). */

export interface ClassMetrics {
  label: string;
  support: number;
  precision: number;
  recall: number;
  f1: number;
}

export interface Evaluation {
  accuracy: number;
  count: number;
  /** confusion[true][predicted] */
  confusion: number[][];
  perClass: ClassMetrics[];
  /** Unweighted mean of the per-class F1 scores. */
  macroF1: number;
}

export function argmax(values: ArrayLike<number>, offset = 0, length = values.length): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (values[offset + i] > values[offset + best]) best = i;
  return best;
}

export function evaluatePredictions(predicted: number[], truth: number[], labels: string[]): Evaluation {
  const k = labels.length;
  const confusion = Array.from({ length: k }, () => new Array(k).fill(0));
  let correct = 0;
  predicted.forEach((p, i) => {
    confusion[truth[i]][p]++;
    if (p === truth[i]) correct++;
  });
  const perClass = labels.map((label, c) => {
    const tp = confusion[c][c];
    const support = confusion[c].reduce((a, b) => a + b, 0);
    const predictedC = confusion.reduce((a, row) => a + row[c], 0);
    const precision = predictedC ? tp / predictedC : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    return { label, support, precision, recall, f1 };
  });
  return {
    accuracy: predicted.length ? correct / predicted.length : 0,
    count: predicted.length,
    confusion,
    perClass,
    macroF1: k ? perClass.reduce((a, c) => a + c.f1, 0) / k : 0,
  };
}

/** Fraction of items where two models pick the same top-1 class. */
export function agreement(a: number[], b: number[]): number {
  if (a.length !== b.length || a.length === 0) return 0;
  return a.filter((v, i) => v === b[i]).length / a.length;
}
