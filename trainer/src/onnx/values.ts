import type { GraphBuilder } from './graph-builder.ts';

// While layers are translated, a layer output is either an ONNX value already in the graph or a
// *pending* computation that the next layer may still fold into itself (BatchNorm into a conv,
// ZeroPadding2D into a conv's pads, input scaling into the first conv). A pending value becomes real
// ONNX nodes only when something that cannot fold it reads it (`materialize`). 4-D values are NCHW.

/** [top, left, bottom, right] in pixels — the order ONNX Conv `pads` uses for 2-D. */
export type Pads2d = [number, number, number, number];

export type PendingConv = {
  layerName: string;
  input: string;
  /** ONNX layout [outChannels, inChannels / group, kH, kW]. */
  weight: Float32Array;
  weightDims: [number, number, number, number];
  bias: Float32Array;
  pads: Pads2d;
  strides: [number, number];
  dilations: [number, number];
  group: number;
};

export type Value =
  | { kind: 'tensor'; name: string; rank: number }
  | { kind: 'conv'; conv: PendingConv; done?: string }
  /** The NCHW float input before `pixel * scale + offset`. */
  | { kind: 'scaledInput'; raw: string; scale: number; offset: number; done?: string }
  | { kind: 'padded'; inner: Slot; pads: Pads2d; layerName: string; done?: string };

/** A layer output plus how many layers (and model outputs) read it; folding needs exactly one. */
export type Slot = { value: Value; uses: number };

export function rankOf(v: Value): number {
  return v.kind === 'tensor' ? v.rank : 4;
}

export function tensor(name: string, rank: number): Value {
  return { kind: 'tensor', name, rank };
}

/** Emits the ONNX nodes for a value (once) and returns its name. */
export function materialize(g: GraphBuilder, v: Value): string {
  if (v.kind === 'tensor') return v.name;
  if (v.done) return v.done;
  v.done = emit(g, v);
  return v.done;
}

function emit(g: GraphBuilder, v: Exclude<Value, { kind: 'tensor' }>): string {
  switch (v.kind) {
    case 'conv':
      return emitConv(g, v.conv);
    case 'scaledInput': {
      const scaled = g.node('Mul', [v.raw, g.scalar(v.scale)], 'input_scaled');
      return g.node('Add', [scaled, g.scalar(v.offset)], 'input_normalized');
    }
    case 'padded': {
      const [t, l, b, r] = v.pads;
      // Pad-13 pads layout: [x1_begin, x2_begin, ..., x1_end, x2_end] over N, C, H, W.
      const pads = g.int64s(`${v.layerName}/pads`, [8], [0, 0, t, l, 0, 0, b, r]);
      return g.node('Pad', [materialize(g, v.inner.value), pads], v.layerName, [
        { name: 'mode', type: 'string', value: 'constant' },
      ]);
    }
  }
}

export function emitConv(g: GraphBuilder, c: PendingConv): string {
  const w = g.floats(`${c.layerName}/W`, c.weightDims, c.weight);
  const b = g.floats(`${c.layerName}/B`, [c.weightDims[0]], c.bias);
  return g.node('Conv', [c.input, w, b], c.layerName, [
    { name: 'kernel_shape', type: 'ints', value: [c.weightDims[2], c.weightDims[3]] },
    { name: 'strides', type: 'ints', value: c.strides },
    { name: 'dilations', type: 'ints', value: c.dilations },
    { name: 'pads', type: 'ints', value: c.pads },
    { name: 'group', type: 'int', value: c.group },
  ]);
}
