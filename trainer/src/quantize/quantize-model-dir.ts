/**
 * The int8 step of `edgeloop train`, kept out of the training loop: takes a finished model folder
 * (fp32 model.onnx), quantizes it with calibration images from the training split, scores both on
 * the validation split in onnxruntime, and rewrites the folder so that
 *   model.onnx       is the int8 model (what agents run; role 'model'),
 *   model.fp32.onnx  is the float original (role 'reference-model'; agents download it too and
 *                    run whichever variant is faster on them),
 * manifest.json says quantization 'int8', and metrics.json gains a `quantization` section with both
 * accuracies, their top-1 agreement, both file sizes and both latencies.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  MODEL_FOLDER,
  parseWith,
  type QuantizationMetrics,
  readModelFolder,
  sha256Hex,
  type UnsignedManifest,
  UnsignedManifestSchema,
  writeFileAtomic,
} from '@edgeloop/shared';
import { readDataset } from '../data/dataset.ts';
import { decodeResized } from '../data/image-decoder.ts';
import {
  applyTemperature,
  expectedCalibrationError,
  fitTemperature,
  recommendThresholds,
  reliabilityBins,
} from '../evaluate/calibration.ts';
import {
  crossFitTemperature,
  eceDetail,
  temperatureHelpsOutOfFold,
} from '../evaluate/calibration-uncertainty.ts';
import { percentile } from '../evaluate/evaluate-model.ts';
import { createTensorRunner } from '../inference/onnx-runner.ts';
import { uint8InputSpec } from '../onnx/export-onnx.ts';
import { encodeModel } from '../onnx/onnx-proto.ts';
import { decodeModel } from '../onnx/onnx-reader.ts';
import { confidenceSpec } from '../output/model-dir.ts';
import { reliabilitySvg, reliabilityTitles } from '../output/reliability-chart.ts';
import { agreement, argmax } from '../train/evaluate.ts';
import { evenlySpaced } from './calibration-images.ts';
import type { CalibrationMethod } from './calibration-stats.ts';
import { divideLogits } from './output-temperature.ts';
import { quantizeModel } from './quantize-model.ts';

export const FP32_MODEL_FILE = MODEL_FOLDER.fp32Model;

/** The metrics.json section this step writes; its schema is in @edgeloop/shared. */
export type { QuantizationMetrics } from '@edgeloop/shared';

async function scoreModel(bytes: Uint8Array, images: Uint8Array[], size: number, classes: number) {
  const runner = await createTensorRunner(bytes, 1);
  const predictions: number[] = [];
  const probs = new Float32Array(images.length * classes);
  const times: number[] = [];
  try {
    for (const [i, img] of images.entries()) {
      const start = performance.now();
      const out = await runner.run({ data: img, dims: [1, size, size, 3] });
      times.push(performance.now() - start);
      const data = out.values().next().value!.data;
      probs.set(data.subarray(0, classes), i * classes);
      predictions.push(argmax(data, 0, classes));
    }
  } finally {
    await runner.release();
  }
  // The first run includes onnxruntime's lazy set-up; it is not what a device sees per frame.
  const steady = times.length > 1 ? times.slice(1) : times;
  return { predictions, probs, latency: { p50: percentile(steady, 50), p95: percentile(steady, 95) } };
}

export async function quantizeModelDir(
  dir: string,
  dataDir: string,
  options: { seed?: number; method?: CalibrationMethod; maxCalibrationImages?: number } = {},
): Promise<QuantizationMetrics> {
  const fp32 = new Uint8Array(await readFile(join(dir, 'model.onnx')));
  const folder = await readModelFolder(dir);
  const manifest = folder[MODEL_FOLDER.manifest];
  const metrics = folder[MODEL_FOLDER.metrics] ?? {};
  const { width, height } = manifest.input;
  const labels = manifest.labels;
  // The same seeded split training used, so calibration never sees a validation image.
  const dataset = await readDataset(dataDir, { seed: options.seed ?? 1 });
  const decode = async (items: { path: string; label: string }[], max = Number.POSITIVE_INFINITY) => {
    const images: Uint8Array[] = [];
    const truth: number[] = [];
    for (const item of evenlySpaced(items, max)) {
      if (!labels.includes(item.label)) continue;
      try {
        images.push((await decodeResized(item.path, { width, height })).data);
        truth.push(labels.indexOf(item.label));
      } catch {
        // training already reported unreadable files
      }
    }
    return { images, truth };
  };
  const calibration = await decode(dataset.train, options.maxCalibrationImages ?? 128);
  const method = options.method ?? 'minmax';
  const { bytes: quantized, report } = await quantizeModel(
    fp32,
    calibration.images,
    uint8InputSpec(width, height),
    {
      method,
      labels,
    },
  );
  const evaluatedOn = dataset.validation.length ? 'validation' : 'train';
  const evalSet = await decode(evaluatedOn === 'validation' ? dataset.validation : dataset.train);
  const f = await scoreModel(fp32, evalSet.images, width, labels.length);
  let int8 = quantized;
  let q = await scoreModel(int8, evalSet.images, width, labels.length);
  // Our models were calibrated in fp32; quantization moves the logits a little, so the int8 model
  // may need its own residual temperature, folded exactly (see output-temperature.ts). A
  // temperature fitted on the same images always lowers their NLL a little, so it is folded only
  // when it also lowers the NLL of frames its fit did not see (cross-fitted). The model is then
  // scored again: what is reported is what it now outputs.
  let int8Temperature = 1;
  let int8TemperatureCheck: QuantizationMetrics['int8TemperatureCheck'];
  if (metrics.calibration && evalSet.truth.length > 1) {
    const fitted = fitTemperature(q.probs, evalSet.truth, labels.length);
    const check = temperatureHelpsOutOfFold(q.probs, evalSet.truth, labels.length, options.seed ?? 1);
    int8TemperatureCheck = { fitted, nllAsIs: check.nllAsIs, nllCrossFit: check.nllCrossFit };
    const graph = decodeModel(int8);
    if (check.helps && divideLogits(graph, fitted)) {
      int8Temperature = fitted;
      int8 = encodeModel(graph);
      q = await scoreModel(int8, evalSet.images, width, labels.length);
    }
  }
  // The honest post-calibration figure: the whole temperature taken back out, then each fold
  // rescaled by a temperature fitted on the other folds only.
  const totalTemperature = (metrics.calibration?.temperature ?? 1) * int8Temperature;
  const int8EceDetail = {
    ...eceDetail(q.probs, evalSet.truth, labels.length),
    ...(metrics.calibration
      ? {
          crossFit: expectedCalibrationError(
            crossFitTemperature(
              applyTemperature(q.probs, labels.length, 1 / totalTemperature),
              evalSet.truth,
              labels.length,
            ).probs,
            evalSet.truth,
            labels.length,
          ),
        }
      : {}),
  };
  const acc = (p: number[]) => (p.length ? p.filter((v, i) => v === evalSet.truth[i]).length / p.length : 0);
  const quantization: QuantizationMetrics = {
    method,
    calibrationImages: calibration.images.length,
    evaluatedOn,
    images: evalSet.images.length,
    fp32Accuracy: acc(f.predictions),
    int8Accuracy: acc(q.predictions),
    agreement: agreement(f.predictions, q.predictions),
    fp32Bytes: fp32.byteLength,
    int8Bytes: int8.byteLength,
    sizeRatio: int8.byteLength / fp32.byteLength,
    fp32LatencyMs: f.latency,
    int8LatencyMs: q.latency,
    fusedActivations: report.fusedActivations,
    floatNodes: report.floatNodes,
    fp32Ece: expectedCalibrationError(f.probs, evalSet.truth, labels.length),
    int8Ece: expectedCalibrationError(q.probs, evalSet.truth, labels.length),
    int8EceDetail,
    int8Temperature,
    int8TemperatureCheck,
  };
  // Devices run the int8 model: its own confidences decide the thresholds they are handed.
  const calibrated = metrics.calibration
    ? {
        ...metrics.calibration,
        ...recommendThresholds(q.probs, labels, metrics.calibration.targetCaptureRate),
      }
    : undefined;

  const updated: UnsignedManifest = parseWith(
    UnsignedManifestSchema,
    {
      ...manifest,
      architecture: { ...manifest.architecture, quantization: 'int8' },
      files: [
        ...manifest.files.filter((x) => x.name !== 'model.onnx' && x.name !== FP32_MODEL_FILE),
        { name: 'model.onnx', role: 'model', sha256: sha256Hex(int8), bytes: int8.byteLength },
        { name: FP32_MODEL_FILE, role: 'reference-model', sha256: sha256Hex(fp32), bytes: fp32.byteLength },
      ],
      confidence: calibrated
        ? {
            ...confidenceSpec(calibrated),
            temperature: calibrated.temperature * int8Temperature,
            ece: quantization.int8Ece,
          }
        : manifest.confidence,
    },
    'manifest',
  );
  // fp32 copy first: if anything below fails, the folder still holds a working float model.
  await writeFileAtomic(join(dir, FP32_MODEL_FILE), fp32);
  await writeFileAtomic(join(dir, 'model.onnx'), int8);
  await writeFileAtomic(
    join(dir, 'metrics.json'),
    `${JSON.stringify({ ...metrics, ...(calibrated ? { calibration: calibrated } : {}), quantization }, null, 2)}\n`,
  );
  await writeFileAtomic(join(dir, 'manifest.json'), `${JSON.stringify(updated, null, 2)}\n`);
  if (metrics.calibration) {
    // The fp32 model outputs softmax(z / T): raising its probabilities back by T recovers the
    // uncalibrated ones exactly, so the diagram can show all three on the same frames.
    const k = labels.length;
    const { temperature } = metrics.calibration;
    const bins = (p: ArrayLike<number>) => reliabilityBins(p, evalSet.truth, k);
    const raw = applyTemperature(f.probs, k, 1 / temperature);
    await writeFileAtomic(
      join(dir, 'reliability.svg'),
      reliabilitySvg([
        { title: reliabilityTitles.before(expectedCalibrationError(raw, evalSet.truth, k)), bins: bins(raw) },
        { title: reliabilityTitles.after(temperature, quantization.fp32Ece ?? 0), bins: bins(f.probs) },
        { title: reliabilityTitles.int8(quantization.int8Ece ?? 0), bins: bins(q.probs) },
      ]),
    );
  }
  return quantization;
}

export function formatQuantization(q: QuantizationMetrics): string {
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  const ece = q.int8Ece === undefined ? '' : `, ECE ${q.int8Ece.toFixed(4)} (fp32 ${q.fp32Ece?.toFixed(4)})`;
  return `int8 model.onnx: ${q.evaluatedOn} accuracy ${pct(q.int8Accuracy)} (fp32 ${pct(q.fp32Accuracy)})${ece}, top-1 agreement ${pct(q.agreement)}, ${(q.int8Bytes / 1024).toFixed(0)} KiB (${pct(q.sizeRatio)} of fp32), ${q.int8LatencyMs.p50.toFixed(2)} ms/image (fp32 ${q.fp32LatencyMs.p50.toFixed(2)} ms)`;
}
