/**
 * Static post-training int8 quantization of an fp32 ONNX image classifier (ours or imported):
 * read → check it is a classifier → prepare (opset 13, BN folding, identities) → calibrate
 * activations on real images in onnxruntime → QDQ rewrite → encode. The result records how it was
 * made in metadata_props['quantization'] and carries the input spec and labels along.
 */
import { EdgeloopError, type InputSpec } from '@edgeloop/shared';
import { METADATA_KEYS } from '../onnx/metadata.ts';
import { encodeModel } from '../onnx/onnx-proto.ts';
import { decodeModel } from '../onnx/onnx-reader.ts';
import { correctBiases } from './bias-correction.ts';
import { calibrate } from './calibrate.ts';
import type { CalibrationMethod } from './calibration-stats.ts';
import { compactNames } from './compact-names.ts';
import { equalizeActivationRanges } from './equalize-ranges.ts';
import { slowInt8Stem } from './float-stem.ts';
import { momentCollector } from './input-moments.ts';
import { toInputTensor } from './input-tensor.ts';
import { insertQdq, type QdqReport } from './insert-qdq.ts';
import { type WidenReport, widenStemChannels } from './kernel-channels.ts';
import { classifierShape, prepareGraph } from './prepare-graph.ts';

export type QuantizeOptions = {
  method: CalibrationMethod;
  /** For method 'percentile' (default 99.999). */
  percentile?: number;
  /**
   * Node names to leave in float. Default: `slowInt8Stem(model)` (float-stem.ts), the first
   * layers of a narrow network, faster in float and the source of most int8 error; [] for all int8.
   */
  keepFloat?: readonly string[];
  threads?: number;
  /**
   * 7 (default): each weight row's range is as wide as it can be while no pair of weights
   * onnxruntime's x86 AVX2 kernels without VNNI add together (VPMADDUBSW: two uint8 x int8
   * products into a saturating int16) can exceed 128 in magnitude — never saturates, and finer than
   * a flat [-63, 63] (weight-rounding.ts). Full 8-bit weights there saturated and cost MobileNet V1
   * a quarter of its feature accuracy. 8: the plain [-127, 127], for ARM and x86 with VNNI.
   */
  weightBits?: 7 | 8;
  /** Activation range equalization before calibration (default on; see equalize-ranges.ts). */
  equalize?: boolean;
  /** Empirical bias correction on the calibration images (default on; see bias-correction.ts). */
  biasCorrection?: boolean;
  /**
   * Pad the image to 4 channels and a narrow stem to 16 so onnxruntime runs them in its fast int8
   * kernels (default on; exact in float; see kernel-channels.ts).
   */
  widenStem?: boolean;
  /**
   * Round each weight row against its measured input moments instead of to nearest (default on;
   * see weight-rounding.ts and input-moments.ts).
   */
  adaptiveRounding?: boolean;
  /**
   * Calibration images bias correction measures on (default 128, spread over the set). Measured on
   * a fine-tuned V1 α0.25: 32 images left 6 of 341 validation photos flipped, 128 left 4 — the
   * per-channel mean shift is itself estimated, and small channels need many images.
   */
  biasCorrectionImages?: number;
  /** Written to metadata_props['labels'] when the model carries none. */
  labels?: readonly string[];
};

export type QuantizeReport = QdqReport & {
  method: CalibrationMethod;
  calibrationImages: number;
  keepFloat: string[];
  biasCorrection: boolean;
  /** Conv → activation → layer chains whose channel ranges were equalized. */
  equalizedPairs: number;
  weightBits: 7 | 8;
  /** Channel counts the stem was padded from and to for onnxruntime's int8 kernels. */
  widenedStem: WidenReport;
};

/** `images`: RGB bytes at the spec's width x height. */
export async function quantizeModel(
  fp32: Uint8Array,
  images: readonly Uint8Array[],
  spec: InputSpec,
  options: QuantizeOptions,
): Promise<{ bytes: Uint8Array; report: QuantizeReport }> {
  const model = decodeModel(fp32);
  const shape = classifierShape(model);
  if (model.inputs[0].elemType === 2 && spec.dtype !== 'uint8') {
    throw new EdgeloopError('VALIDATION_FAILED', 'input spec says float32 but the model takes uint8');
  }
  if (shape.height !== spec.height || shape.width !== spec.width || shape.layout !== spec.layout) {
    throw new EdgeloopError(
      'VALIDATION_FAILED',
      `input spec ${spec.layout} ${spec.width}x${spec.height} does not match the model's ${shape.layout} ${shape.width}x${shape.height}`,
    );
  }
  if (
    model.nodes.some(
      (n) =>
        n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear' || n.opType.startsWith('QLinear'),
    )
  ) {
    throw new EdgeloopError('MODEL_INVALID', 'the model is already quantized');
  }
  const keepFloat = [...(options.keepFloat ?? slowInt8Stem(model))];
  const names = new Set(model.nodes.map((n) => n.name || n.outputs[0]));
  const missing = keepFloat.filter((k) => !names.has(k));
  if (missing.length) {
    throw new EdgeloopError(
      'VALIDATION_FAILED',
      `--keep-float names no node of the model: ${missing.join(', ')}`,
    );
  }
  prepareGraph(model);
  const widened = options.widenStem === false ? {} : widenStemChannels(model, new Set(keepFloat));
  const inputs = images.map((img) => toInputTensor([img], spec));
  const equalized =
    options.equalize === false
      ? 0
      : // Layers kept in float are equalized too: the rescaling leaves the float function as it
        // was, and the quantized tensor a float layer writes needs balanced channels as much as
        // any (with the stem of float-stem.ts kept in float, equalizing its pairs too left fewer
        // int8 answers differing from fp32 than skipping them).
        await equalizeActivationRanges(model, inputs, { threads: options.threads });
  // Input moments for the weight rounding come from calibration's own run over the images.
  const collector = options.adaptiveRounding === false ? undefined : momentCollector(model);
  const ranges = await calibrate(model, inputs, {
    method: options.method,
    percentile: options.percentile,
    threads: options.threads,
    observe: collector?.observe,
  });
  const fp32Prepared = structuredClone(model);
  const weightBits = options.weightBits ?? 7;
  const moments = collector?.moments();
  const { layers, ...qdq } = insertQdq(model, ranges, new Set(keepFloat), weightBits, moments);
  if (options.biasCorrection !== false) {
    // A spread-out subset keeps the one-pass-per-layer correction affordable on big models.
    const count = options.biasCorrectionImages ?? 128;
    const step = Math.max(1, Math.floor(inputs.length / count));
    const subset = inputs.filter((_, i) => i % step === 0).slice(0, count);
    await correctBiases(fp32Prepared, model, layers, subset, { threads: options.threads });
  }
  const report: QuantizeReport = {
    ...qdq,
    method: options.method,
    calibrationImages: images.length,
    keepFloat,
    biasCorrection: options.biasCorrection !== false,
    equalizedPairs: equalized,
    widenedStem: widened,
    weightBits,
  };
  model.producerName = 'edgeloop-quantizer';
  model.metadata = {
    ...model.metadata,
    [METADATA_KEYS.inputSpec]: model.metadata[METADATA_KEYS.inputSpec] ?? JSON.stringify(spec),
    ...(options.labels && !model.metadata[METADATA_KEYS.labels]
      ? { [METADATA_KEYS.labels]: JSON.stringify(options.labels) }
      : {}),
    [METADATA_KEYS.quantization]: JSON.stringify({
      activations: 'uint8 asymmetric per-tensor',
      weights: `int8 symmetric per-channel, ${
        weightBits === 7
          ? 'ranges keeping every VPMADDUBSW pair within 128 (7-8 bits; depthwise 8)'
          : '8-bit range'
      }, ${collector ? 'rounded against input moments' : 'rounded to nearest'}`,
      biases: 'int32',
      method: options.method,
      calibrationImages: images.length,
      biasCorrection: report.biasCorrection,
      equalizedPairs: equalized,
      widenedStem: widened,
      keepFloat,
    }),
  };
  compactNames(model);
  return { bytes: encodeModel(model), report };
}
