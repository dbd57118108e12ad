/**
 * Scores an ONNX classifier with onnxruntime on a folder-per-class dataset: accuracy, per-class
 * precision/recall/F1, confusion matrix, latency percentiles, and optionally top-1 agreement with a
 * reference model (the fp32 original of an int8 model). Classes are matched by name; dataset
 * folders the model does not know, and model classes without images, are reported.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { EdgeloopError } from '@edgeloop/shared';
import { decodeResized } from '../data/image-decoder.ts';
import { createTensorRunner, type TensorRunner } from '../inference/onnx-runner.ts';
import { listImages } from '../quantize/calibration-images.ts';
import { toInputTensor } from '../quantize/input-tensor.ts';
import { agreement, argmax, type ClassMetrics, evaluatePredictions } from '../train/evaluate.ts';
import { asProbabilities, expectedCalibrationError } from './calibration.ts';
import { type EceDetail, eceDetail } from './calibration-uncertainty.ts';
import type { Classifier } from './load-classifier.ts';

export type EvaluationReport = {
  model: string;
  accuracy: number;
  n: number;
  macroF1: number;
  /** Expected calibration error (15 bins) of the top-1 confidences. */
  ece: number;
  /** How far `ece` can be trusted on this many frames (calibration-uncertainty.ts). */
  eceDetail: EceDetail;
  perClass: ClassMetrics[];
  labels: string[];
  confusion: number[][];
  /** Dataset class folders the model has no output for (their images are not scored). */
  unknownClasses: string[];
  /** Model classes with no images in the dataset. */
  missingClasses: string[];
  skipped: { path: string; reason: string }[];
  latencyMs: { p50: number; p95: number; threads: number };
  reference?: { model: string; accuracy: number; agreement: number; latencyMs: { p50: number; p95: number } };
};

export type EvaluateOptions = { threads?: number; reference?: Classifier };

type Scored = { predictions: number[]; probs: Float32Array; times: number[] };

async function score(runner: TensorRunner, c: Classifier, images: Uint8Array[]): Promise<Scored> {
  const predictions: number[] = [];
  const k = c.labels.length;
  const probs = new Float32Array(images.length * k);
  const times: number[] = [];
  const output = runner.outputNames[0];
  // One image per run, as a device classifies frames; the first run is a warm-up and not timed.
  for (const [i, img] of images.entries()) {
    const input = toInputTensor([img], c.spec);
    const start = performance.now();
    const out = (await runner.run(input, [output])).get(output);
    if (i > 0 || images.length === 1) times.push(performance.now() - start);
    if (!out) throw new EdgeloopError('MODEL_INVALID', `model ${c.path} did not return a float output`);
    predictions.push(argmax(out.data, 0, k));
    probs.set(asProbabilities(out.data.subarray(0, k)), i * k);
  }
  return { predictions, probs, times };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Reads DIR/<class>/* (or DIR/validation/<class>/*, then DIR/test/<class>/* if present). */
async function datasetRoot(dir: string): Promise<string> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err) => {
    throw new EdgeloopError('DATASET_INVALID', `cannot read dataset ${dir}: ${(err as Error).message}`);
  });
  const names = new Set(entries.filter((e) => e.isDirectory()).map((e) => e.name));
  if (names.has('test')) return join(dir, 'test');
  if (names.has('validation')) return join(dir, 'validation');
  return dir;
}

export async function evaluateClassifier(
  c: Classifier,
  dataDir: string,
  options: EvaluateOptions = {},
): Promise<EvaluationReport> {
  const root = await datasetRoot(dataDir);
  const classDirs = (await readdir(root, { withFileTypes: true }))
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  const unknownClasses = classDirs.filter((d) => !c.labels.includes(d));
  const known = classDirs.filter((d) => c.labels.includes(d));
  const images: Uint8Array[] = [];
  const truth: number[] = [];
  const skipped: { path: string; reason: string }[] = [];
  const present = new Set<string>();
  for (const label of known) {
    for (const file of await listImages(join(root, label))) {
      try {
        images.push((await decodeResized(file, { width: c.spec.width, height: c.spec.height })).data);
        truth.push(c.labels.indexOf(label));
        present.add(label);
      } catch (err) {
        skipped.push({ path: file, reason: (err as Error).message });
      }
    }
  }
  if (images.length === 0) {
    throw new EdgeloopError(
      'DATASET_INVALID',
      `no decodable images of the model's classes in ${root} (model classes: ${c.labels.join(', ')}; folders: ${classDirs.join(', ') || 'none'})`,
    );
  }
  const threads = options.threads ?? 1;
  const run = async (model: Classifier) => {
    const runner = await createTensorRunner(model.bytes, threads);
    try {
      return await score(runner, model, images);
    } finally {
      await runner.release();
    }
  };
  const main = await run(c);
  const evaluation = evaluatePredictions(main.predictions, truth, c.labels);
  const report: EvaluationReport = {
    model: c.path,
    accuracy: evaluation.accuracy,
    n: evaluation.count,
    macroF1: evaluation.macroF1,
    ece: expectedCalibrationError(main.probs, truth, c.labels.length),
    eceDetail: eceDetail(main.probs, truth, c.labels.length),
    perClass: evaluation.perClass,
    labels: c.labels,
    confusion: evaluation.confusion,
    unknownClasses,
    missingClasses: c.labels.filter((l) => !present.has(l)),
    skipped,
    latencyMs: { p50: percentile(main.times, 50), p95: percentile(main.times, 95), threads },
  };
  if (options.reference) {
    const ref = options.reference;
    if (ref.spec.width !== c.spec.width || ref.spec.height !== c.spec.height) {
      throw new EdgeloopError(
        'VALIDATION_FAILED',
        `reference ${ref.path} takes ${ref.spec.width}x${ref.spec.height} images, ${c.path} ${c.spec.width}x${c.spec.height}`,
      );
    }
    if (ref.labels.join('\n') !== c.labels.join('\n')) {
      throw new EdgeloopError(
        'VALIDATION_FAILED',
        `reference ${ref.path} has different labels than ${c.path}`,
      );
    }
    const r = await run(ref);
    report.reference = {
      model: ref.path,
      accuracy: evaluatePredictions(r.predictions, truth, c.labels).accuracy,
      agreement: agreement(main.predictions, r.predictions),
      latencyMs: { p50: percentile(r.times, 50), p95: percentile(r.times, 95) },
    };
  }
  return report;
}
