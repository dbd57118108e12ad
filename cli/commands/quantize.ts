/** `edgeloop quantize`: fp32 ONNX classifier + calibration images → int8 QDQ ONNX. */
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ValidationError } from '@edgeloop/shared';
import { MODEL_METADATA_OPTIONS } from '../options/model-options.ts';
import { defineCommand, type OptionDefs, type ParsedArgs } from '../options/option-types.ts';

const options = {
  model: {
    type: 'string',
    value: 'PATH',
    required: true,
    description: 'fp32 model: an .onnx file, or a model folder (its model.fp32.onnx if any)',
  },
  calibration: {
    type: 'string',
    value: 'DIR',
    required: true,
    description: 'images (any folder layout) representative of what the model will see',
  },
  out: { type: 'string', value: 'FILE', required: true, description: 'where to write the int8 model' },
  method: {
    type: 'string',
    value: 'M',
    choices: ['minmax', 'percentile', 'entropy'],
    default: 'minmax',
    description:
      'minmax | percentile | entropy (entropy clips late MobileNet layers and measured worse, see docs/benchmarks.md)',
  },
  percentile: {
    type: 'number',
    value: 'P',
    default: 99.999,
    description: 'for --method percentile, in (50, 100]',
  },
  'keep-float': {
    type: 'string',
    value: 'NODES',
    defaultText: 'stem',
    description:
      "comma-separated node names to leave in float; 'stem': the first layers of a narrow network (MobileNet α0.25: conv1 and blocks 1-2), faster in float and the source of most int8 error; 'none': all int8",
  },
  'max-images': {
    type: 'number',
    value: 'N',
    integer: true,
    min: 1,
    default: 128,
    description: 'calibration images to use',
  },
  'weight-bits': {
    type: 'number',
    value: '7|8',
    choices: [7, 8],
    default: 7,
    description:
      "int8 weight range: 7 keeps every pair of weights that onnxruntime's x86 AVX2 kernels add into an int16 within 128, so CPUs without VNNI never saturate (7 to 8 bits per channel); 8 for ARM or VNNI",
  },
  ...MODEL_METADATA_OPTIONS,
} as const satisfies OptionDefs;

export const quantizeCommand = defineCommand({
  name: 'quantize',
  summary: 'quantize an fp32 ONNX classifier to int8 (QDQ) with calibration images',
  usage: 'edgeloop quantize --model FP32.onnx --calibration DIR --out INT8.onnx [options]',
  description:
    'Static post-training int8 quantization in QDQ form (int8 per-channel weights, uint8 activations calibrated on real images, int32 biases) that onnxruntime runs as integer kernels.',
  options,
  run: (args): Promise<number> => quantize(args),
});

function keepFloat(text: string | undefined): string[] | undefined {
  if (text === undefined || text === 'stem') return undefined; // quantizeModel's default: the stem
  if (text === 'none') return [];
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

async function quantize({ values }: ParsedArgs<typeof options>): Promise<number> {
  const { percentile } = values;
  if (!(percentile > 50 && percentile <= 100)) {
    throw new ValidationError(`--percentile must be in (50, 100], got '${percentile}'`);
  }
  const trainer = await import('@edgeloop/trainer');
  // A trained model folder already holds the int8 model.onnx; its float original is the input.
  const fp32InDir = join(values.model, trainer.FP32_MODEL_FILE);
  const source = (await stat(fp32InDir).catch(() => null))?.isFile() ? fp32InDir : values.model;
  const classifier = await trainer.loadClassifier(source, {
    labelsFile: values.labels,
    inputSpec: values['input-spec'],
  });
  const { images, skipped } = await trainer.loadCalibrationImages(
    values.calibration,
    classifier.spec,
    values['max-images'],
  );
  const { bytes, report } = await trainer.quantizeModel(classifier.bytes, images, classifier.spec, {
    method: values.method,
    percentile,
    weightBits: values['weight-bits'],
    keepFloat: keepFloat(values['keep-float']),
    // Carried into the file so the int8 model is self-describing like our own.
    labels: classifier.labels,
  });
  await writeFile(values.out, bytes);
  const ops = Object.entries(report.quantized)
    .map(([op, n]) => `${n} ${op}`)
    .join(', ');
  process.stdout.write(
    `wrote ${values.out}: ${(bytes.byteLength / 1024).toFixed(0)} KiB (fp32 ${(classifier.bytes.byteLength / 1024).toFixed(0)} KiB), int8 kernels: ${ops}; ${report.fusedActivations} ReLU/Clip folded; calibrated (${values.method}) on ${report.calibrationImages} images${skipped.length ? `, ${skipped.length} unreadable skipped` : ''}${report.floatNodes.length ? `; kept in float: ${report.floatNodes.join(', ')}` : ''}\n`,
  );
  return 0;
}
