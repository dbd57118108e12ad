/**
 * Builds a tiny but real ONNX classifier by hand, so agent tests run a real onnxruntime session
 * without the trainer. The graph follows our model contract:
 *
 *   input  uint8 [N,H,W,3] → Cast(float) → ReduceMean(axes 1,2) → MatMul W[3,C] → Add b[C] → Softmax
 *   output `probabilities` float32 [N,C]
 *
 * With weights like [[+k,-k],[0,0],[-k,+k]] it tells red-dominant from blue-dominant images.
 * Variants for imported models: float32 NCHW input and a `logits` output without the Softmax.
 * Encoding: proto2 wire format (https://protobuf.dev/programming-guides/encoding/); field numbers
 * are those of onnx.proto; ir_version 8, opset 13 (ReduceMean takes `axes` as an attribute).
 */

const enc = new TextEncoder();

function varint(value: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

type Field = number[];

function intField(field: number, value: number | bigint): Field {
  return [...varint((field << 3) | 0), ...varint(value)];
}

function bytesField(field: number, value: Uint8Array | number[]): Field {
  return [...varint((field << 3) | 2), ...varint(value.length), ...value];
}

function strField(field: number, value: string): Field {
  return bytesField(field, enc.encode(value));
}

function msg(...fields: Field[]): number[] {
  return fields.flat();
}

const ELEM_FLOAT = 1;
const ELEM_UINT8 = 2;
const ELEM_INT64 = 7;
const ATTR_INT = 2;
const ATTR_INTS = 7;

/** ValueInfoProto{name=1, type=2: TypeProto{tensor_type=1: {elem_type=1, shape=2}}} */
function valueInfo(name: string, elemType: number, dims: readonly (number | string)[]): number[] {
  const shape = msg(
    ...dims.map((d) => bytesField(1, typeof d === 'number' ? intField(1, d) : strField(2, d))),
  );
  const tensorType = msg(intField(1, elemType), bytesField(2, shape));
  return msg(strField(1, name), bytesField(2, bytesField(1, tensorType)));
}

/** TensorProto{dims=1, data_type=2, name=8, raw_data=9} with float32 little-endian data. */
function floatTensor(name: string, dims: number[], values: number[]): number[] {
  const raw = new Uint8Array(new Float32Array(values).buffer);
  return msg(
    ...dims.map((d) => intField(1, d)),
    intField(2, ELEM_FLOAT),
    strField(8, name),
    bytesField(9, raw),
  );
}

/** TensorProto with int64 little-endian data. */
function int64Tensor(name: string, values: number[]): number[] {
  const raw = new Uint8Array(new BigInt64Array(values.map(BigInt)).buffer);
  return msg(intField(1, values.length), intField(2, ELEM_INT64), strField(8, name), bytesField(9, raw));
}

type Attr = { name: string; int: number } | { name: string; ints: number[] };

/** AttributeProto{name=1, i=3, ints=8, type=20} */
function attribute(a: Attr): number[] {
  if ('int' in a) return msg(strField(1, a.name), intField(3, a.int), intField(20, ATTR_INT));
  return msg(strField(1, a.name), ...a.ints.map((v) => intField(8, v)), intField(20, ATTR_INTS));
}

/** NodeProto{input=1, output=2, name=3, op_type=4, attribute=5} */
function node(opType: string, inputs: string[], outputs: string[], attrs: Attr[] = []): number[] {
  return msg(
    ...inputs.map((i) => strField(1, i)),
    ...outputs.map((o) => strField(2, o)),
    strField(3, `${opType.toLowerCase()}_${outputs[0]}`),
    strField(4, opType),
    ...attrs.map((a) => bytesField(5, attribute(a))),
  );
}

export interface TinyClassifierOptions {
  width: number;
  height: number;
  /** 3 rows (R, G, B) × numClasses columns. */
  weights: number[][];
  bias?: number[];
  /** Default: our own contract, uint8 NHWC. */
  input?: 'uint8-nhwc' | 'float32-nchw';
  /** Default `probabilities` (Softmax in the graph); `logits` leaves it out. */
  output?: 'probabilities' | 'logits';
  inputName?: string;
  /**
   * Grows the file by about this many bytes with a float initializer whose mean is added to every
   * logit: softmax ignores a shared constant, so predictions are unchanged, but the model is as big
   * as a real one for download tests. `padSeed` varies the bytes (and so the sha256).
   */
  padBytes?: number;
  padSeed?: number;
  /**
   * Makes every run slower without changing predictions: the image is tiled `slowTiles`×`slowTiles`
   * times, averaged, multiplied by zero and added to the logits. It depends on the input, so
   * onnxruntime cannot fold it away at load (as it folds the pad), and it costs no file size.
   */
  slowTiles?: number;
  /** Also export the mean RGB as a second output named `features` (the frame-embedding source). */
  features?: boolean;
}

/** Deterministic values in [-1, 1) (a small LCG), so each seed gives different bytes. */
function padValues(n: number, seed: number): number[] {
  const out = new Array<number>(n);
  let x = (seed * 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x / 2 ** 31 - 1;
  }
  return out;
}

export function buildTinyClassifier(options: TinyClassifierOptions): Uint8Array {
  const numClasses = options.weights[0].length;
  const bias = options.bias ?? new Array(numClasses).fill(0);
  const inputName = options.inputName ?? 'input';
  const outputName = options.output === 'logits' ? 'logits' : 'probabilities';
  const nchw = options.input === 'float32-nchw';
  const inputDims = nchw ? ['N', 3, options.height, options.width] : ['N', options.height, options.width, 3];
  const nodes: number[][] = [];
  let x = inputName;
  if (!nchw) {
    nodes.push(node('Cast', [inputName], ['as_float'], [{ name: 'to', int: ELEM_FLOAT }]));
    x = 'as_float';
  }
  nodes.push(
    node(
      'ReduceMean',
      [x],
      ['mean_rgb'],
      [
        { name: 'axes', ints: nchw ? [2, 3] : [1, 2] },
        { name: 'keepdims', int: 0 },
      ],
    ),
    node('MatMul', ['mean_rgb', 'W'], ['scores']),
  );
  const logitsName = options.output === 'logits' ? outputName : 'logits';
  const padFloats = Math.floor((options.padBytes ?? 0) / 4);
  const slow = options.slowTiles ?? 0;
  // scores + b, then each optional term added in turn; the last Add writes the logits.
  const terms: string[] = ['b'];
  if (padFloats > 0) {
    nodes.push(
      node(
        'ReduceMean',
        ['pad'],
        ['pad_mean'],
        [
          { name: 'axes', ints: [0] },
          { name: 'keepdims', int: 0 },
        ],
      ),
    );
    terms.push('pad_mean');
  }
  if (slow > 0) {
    nodes.push(
      node('Tile', [x, 'tiles'], ['tiled']),
      node('ReduceMean', ['tiled'], ['tiled_mean'], [{ name: 'keepdims', int: 0 }]),
      node('Mul', ['tiled_mean', 'zero'], ['slow_zero']),
    );
    terms.push('slow_zero');
  }
  let sum = 'scores';
  for (const [i, term] of terms.entries()) {
    const out = i === terms.length - 1 ? logitsName : `sum_${i}`;
    nodes.push(node('Add', [sum, term], [out]));
    sum = out;
  }
  if (options.output !== 'logits')
    nodes.push(node('Softmax', ['logits'], [outputName], [{ name: 'axis', int: -1 }]));
  if (options.features) nodes.push(node('Identity', ['mean_rgb'], ['features']));

  // GraphProto{node=1, name=2, initializer=5, input=11, output=12}
  const graph = msg(
    ...nodes.map((n) => bytesField(1, n)),
    strField(2, 'tiny_classifier'),
    bytesField(5, floatTensor('W', [3, numClasses], options.weights.flat())),
    bytesField(5, floatTensor('b', [numClasses], bias)),
    ...(padFloats > 0
      ? [bytesField(5, floatTensor('pad', [padFloats], padValues(padFloats, options.padSeed ?? 1)))]
      : []),
    ...(slow > 0
      ? [
          bytesField(5, int64Tensor('tiles', nchw ? [1, 1, slow, slow] : [1, slow, slow, 1])),
          bytesField(5, floatTensor('zero', [1], [0])),
        ]
      : []),
    bytesField(11, valueInfo(inputName, nchw ? ELEM_FLOAT : ELEM_UINT8, inputDims)),
    bytesField(12, valueInfo(outputName, ELEM_FLOAT, ['N', numClasses])),
    ...(options.features ? [bytesField(12, valueInfo('features', ELEM_FLOAT, ['N', 3]))] : []),
  );
  // ModelProto{ir_version=1, producer_name=2, graph=7, opset_import=8: {domain=1, version=2}}
  const model = msg(
    intField(1, 8),
    strField(2, 'edgeloop-test'),
    bytesField(7, graph),
    bytesField(8, msg(strField(1, ''), intField(2, 13))),
  );
  return Uint8Array.from(model);
}

/**
 * Labels ['red', 'blue']: the mean red minus mean blue channel (0..255) times `k` is the logit gap,
 * so k = 0.01 gives about 0.92 confidence on a saturated image and k = 0.1 gives ~1.0.
 */
export function redBlueClassifier(options: Partial<TinyClassifierOptions> & { k?: number } = {}): Uint8Array {
  const k = options.k ?? 0.01;
  return buildTinyClassifier({
    width: 32,
    height: 32,
    ...options,
    weights: options.weights ?? [
      [k / 2, -k / 2],
      [0, 0],
      [-k / 2, k / 2],
    ],
  });
}
