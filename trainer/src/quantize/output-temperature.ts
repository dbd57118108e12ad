/**
 * Rescales the logits of a quantized classifier exactly: the graph ends Gemm → Softmax with the
 * Gemm's output in float, so dividing the float scales that dequantize its weights and its bias
 * (ONNX DequantizeLinear: y = (x − zero_point) · scale) divides the logits, with no new node and no
 * change to any int8 value. Quantization moves logits a little, so the int8 model gets its own
 * residual temperature on top of the one folded into the fp32 model before quantizing.
 */
import type { OnnxModel } from '../onnx/onnx-proto.ts';
import { consumersOf, floatInit, producersOf, tensorFloats } from './graph-tools.ts';

/** Divides the logits feeding the output Softmax by `temperature`; false when the graph is not Gemm → Softmax. */
export function divideLogits(model: OnnxModel, temperature: number): boolean {
  const producers = producersOf(model);
  const consumers = consumersOf(model);
  const softmax = model.nodes.find(
    (n) => n.opType === 'Softmax' && model.outputs.some((o) => o.name === n.outputs[0]),
  );
  const gemm = softmax ? producers.get(softmax.inputs[0]) : undefined;
  if (gemm?.opType !== 'Gemm' || gemm.inputs.length < 3) return false;
  // Where each of B and C gets its float values: an initializer, or a DequantizeLinear's scale.
  const targets: string[] = [];
  for (const input of [gemm.inputs[1], gemm.inputs[2]]) {
    const dq = producers.get(input);
    const name = dq?.opType === 'DequantizeLinear' ? dq.inputs[1] : dq ? null : input;
    const init = name ? model.initializers.find((t) => t.name === name) : undefined;
    // A scale shared with another node would rescale that node too.
    if (!name || !init || (consumers.get(name)?.length ?? 0) !== 1) return false;
    targets.push(name);
  }
  model.initializers = model.initializers.map((t) =>
    targets.includes(t.name)
      ? floatInit(
          t.name,
          t.dims,
          tensorFloats(t).map((v) => v / temperature),
        )
      : t,
  );
  return true;
}
