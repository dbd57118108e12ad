/**
 * Runs the fp32 model over calibration images with every float intermediate value exposed as an
 * output, and returns each value's range as the chosen method picks it. Two passes when a
 * histogram is needed: the first fixes each value's min/max, the second fills histograms over them.
 */
import { createTensorRunner, type TensorData } from '../inference/onnx-runner.ts';
import { DataType, encodeModel, type OnnxModel } from '../onnx/onnx-proto.ts';
import { type CalibrationMethod, pickRange, type Range, TensorStats } from './calibration-stats.ts';
import { floatValues } from './graph-tools.ts';

export type CalibrationOptions = {
  method: CalibrationMethod;
  percentile?: number;
  threads?: number;
  /**
   * Also sees every float value of each image once (the first pass), the graph's float input
   * included: for other statistics of the same run (input-moments.ts) without a second one.
   */
  observe?: (values: ReadonlyMap<string, { data: Float32Array; dims: number[] }>) => void;
};

export async function calibrate(
  model: OnnxModel,
  inputs: readonly TensorData[],
  options: CalibrationOptions,
): Promise<Map<string, Range>> {
  const floats = floatValues(model);
  const inits = new Set(model.initializers.map((t) => t.name));
  const names = new Set<string>();
  for (const i of model.inputs) if (floats.has(i.name)) names.add(i.name);
  for (const n of model.nodes) for (const o of n.outputs) if (floats.has(o) && !inits.has(o)) names.add(o);
  const declared = new Set(model.outputs.map((o) => o.name));
  const augmented: OnnxModel = {
    ...model,
    outputs: [
      ...model.outputs,
      ...[...names].filter((n) => !declared.has(n)).map((name) => ({ name, elemType: DataType.FLOAT })),
    ],
  };
  const runner = await createTensorRunner(encodeModel(augmented), options.threads ?? 2);
  const wanted = [...names].filter((n) => !model.inputs.some((i) => i.name === n));
  const stats = new Map<string, TensorStats>();
  for (const n of names) stats.set(n, new TensorStats());
  const visit = async (observe: (s: TensorStats, data: Float32Array) => void, first = false) => {
    for (const input of inputs) {
      const out = await runner.run(input, wanted);
      for (const [name, value] of out) observe(stats.get(name)!, value.data);
      const inputStats = stats.get(runner.inputName);
      if (inputStats && input.data instanceof Float32Array) {
        observe(inputStats, input.data);
        out.set(runner.inputName, { data: input.data, dims: input.dims });
      }
      if (first) options.observe?.(out);
    }
  };
  try {
    await visit((s, d) => s.observeRange(d), true);
    if (options.method !== 'minmax') {
      await visit((s, d) => s.observeHistogram(d, options.method === 'entropy'));
    }
  } finally {
    await runner.release();
  }
  // The map a global pooling averages into the classifier's features keeps its observed range with
  // every method: its rare large values are the class evidence, and clipping them shifts every
  // feature (on MobileNet V1 α0.25, entropy calibration clipped that map far below its range and a
  // third of the validation photos changed class; keeping that one range undid most of it).
  const pooled = new Set(model.nodes.filter((n) => n.opType === 'GlobalAveragePool').map((n) => n.inputs[0]));
  const ranges = new Map<string, Range>();
  for (const [name, s] of stats) {
    if (Number.isFinite(s.min) && Number.isFinite(s.max))
      ranges.set(name, pickRange(s, pooled.has(name) ? 'minmax' : options.method, options.percentile));
  }
  return ranges;
}
