/** `edgeloop quantize`: fp32 ONNX classifier + calibration images → int8 QDQ ONNX. */
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EdgeloopError } from '@edgeloop/shared';
import { loadClassifier } from '../evaluate/load-classifier.ts';
import { loadCalibrationImages } from './calibration-images.ts';
import { CALIBRATION_METHODS, type CalibrationMethod } from './calibration-stats.ts';
import { quantizeModel } from './quantize-model.ts';
import { FP32_MODEL_FILE } from './quantize-model-dir.ts';

const HELP = `Usage: edgeloop quantize --model FP32.onnx --calibration DIR --out INT8.onnx [options]

Static post-training int8 quantization in QDQ form (int8 per-channel weights, uint8 activations
calibrated on real images, int32 biases) that onnxruntime runs as integer kernels.

  --model PATH          fp32 model: an .onnx file, or a model folder (its model.fp32.onnx if any)
  --calibration DIR     images (any folder layout) representative of what the model will see
  --out FILE            where to write the int8 model
  --method M            minmax | percentile | entropy (default minmax; entropy clips late
                        MobileNet layers and measured worse, see docs/benchmarks.md)
  --percentile P        for --method percentile (default 99.999)
  --keep-float NODES    comma-separated node names to leave in float; 'stem' (default): the
                        first layers of a narrow network (MobileNet α0.25: conv1 and blocks
                        1-2), faster in float and the source of most int8 error; 'none': all int8
  --max-images N        calibration images to use (default 128)
  --weight-bits 7|8     int8 weight range: 7 (default) keeps every pair of weights that
                        onnxruntime's x86 AVX2 kernels add into an int16 within 128, so CPUs
                        without VNNI never saturate (7 to 8 bits per channel); 8 for ARM or VNNI
  --labels FILE         JSON array of class names (when the model carries none)
  --input-spec JSON     input spec as JSON text or file (float models without one in their metadata)
  -h, --help            show this help
`;

export async function quantizeCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      calibration: { type: 'string' },
      out: { type: 'string' },
      method: { type: 'string', default: 'minmax' },
      percentile: { type: 'string', default: '99.999' },
      'keep-float': { type: 'string' },
      'max-images': { type: 'string', default: '128' },
      'weight-bits': { type: 'string', default: '7' },
      labels: { type: 'string' },
      'input-spec': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!values.model || !values.calibration || !values.out) {
    throw new EdgeloopError('VALIDATION_FAILED', `--model, --calibration and --out are required\n\n${HELP}`);
  }
  const method = values.method as CalibrationMethod;
  if (!CALIBRATION_METHODS.includes(method)) {
    throw new EdgeloopError(
      'VALIDATION_FAILED',
      `--method must be one of ${CALIBRATION_METHODS.join(', ')}, got '${values.method}'`,
    );
  }
  const percentile = Number(values.percentile);
  const maxImages = Number(values['max-images']);
  if (!(percentile > 50 && percentile <= 100) || !(Number.isInteger(maxImages) && maxImages > 0)) {
    throw new EdgeloopError(
      'VALIDATION_FAILED',
      '--percentile must be in (50, 100] and --max-images a positive integer',
    );
  }
  const weightBits = Number(values['weight-bits']);
  if (weightBits !== 7 && weightBits !== 8) {
    throw new EdgeloopError(
      'VALIDATION_FAILED',
      `--weight-bits must be 7 or 8, got '${values['weight-bits']}'`,
    );
  }
  // A trained model folder already holds the int8 model.onnx; its float original is the input.
  const fp32InDir = join(values.model, FP32_MODEL_FILE);
  const source = (await stat(fp32InDir).catch(() => null))?.isFile() ? fp32InDir : values.model;
  const classifier = await loadClassifier(source, {
    labelsFile: values.labels,
    inputSpec: values['input-spec'],
  });
  const { images, skipped } = await loadCalibrationImages(values.calibration, classifier.spec, maxImages);
  const { bytes, report } = await quantizeModel(classifier.bytes, images, classifier.spec, {
    method,
    percentile,
    weightBits,
    keepFloat:
      values['keep-float'] === undefined || values['keep-float'] === 'stem'
        ? undefined // quantizeModel's default: the stem
        : values['keep-float'] === 'none'
          ? []
          : values['keep-float']
              ?.split(',')
              .map((s) => s.trim())
              .filter(Boolean),
    // Carried into the file so the int8 model is self-describing like our own.
    labels: classifier.labels,
  });
  await writeFile(values.out, bytes);
  const ops = Object.entries(report.quantized)
    .map(([op, n]) => `${n} ${op}`)
    .join(', ');
  process.stdout.write(
    `wrote ${values.out}: ${(bytes.byteLength / 1024).toFixed(0)} KiB (fp32 ${(classifier.bytes.byteLength / 1024).toFixed(0)} KiB), int8 kernels: ${ops}; ${report.fusedActivations} ReLU/Clip folded; calibrated (${method}) on ${report.calibrationImages} images${skipped.length ? `, ${skipped.length} unreadable skipped` : ''}${report.floatNodes.length ? `; kept in float: ${report.floatNodes.join(', ')}` : ''}\n`,
  );
  return 0;
}
