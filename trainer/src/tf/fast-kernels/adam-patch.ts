/**
 * Adam's update as one kernel per variable. tfjs's AdamOptimizer.applyGradients runs 14 elementwise
 * kernels per variable (about half of all kernel calls in a MobileNetV2 training step, most on
 * small batch-norm vectors, where the engine's per-kernel bookkeeping costs more than the math).
 * `EdgeloopAdam` computes the same three results in one pass with the stock expression order and a
 * float32 rounding after every step, so the weights come out bit for bit as with stock Adam. The
 * patched applyGradients is the stock method with that one change; it runs the stock method on
 * other backends and dtypes. The stock method travels on the prototype so it can be put back.
 */
import type * as tfjs from '@tensorflow/tfjs';
import { adamWasm } from './adam-wasm.ts';
import { takeArray } from './buffer-pool.ts';
import {
  attrsOf,
  cpuKernelConfig,
  f32Input,
  type KernelArgs,
  type KernelConfig,
  makeF32,
  type TensorInfo,
  type TfLike,
} from './kernel-util.ts';
import { channelPasses } from './layer-wasm.ts';

export const ADAM_KERNEL = 'EdgeloopAdam';
/** Variables below this size (batch-norm vectors) stay on the JS loop: a heap session costs more. */
const WASM_MIN = 1024;

const f = Math.fround;

/** value, m, v, g -> new value, new m, new v; attrs as stock Adam's scalars (see applyGradients). */
function adam(args: KernelArgs): TensorInfo[] {
  const value = f32Input(args, 'value');
  const m = f32Input(args, 'm');
  const v = f32Input(args, 'v');
  const g = f32Input(args, 'g');
  if (value == null || m == null || v == null || g == null) throw new Error('EdgeloopAdam needs float32');
  const a = attrsOf(args);
  // The stock op chain's float32 scalars.
  const b1 = f(a.beta1);
  const b2 = f(a.beta2);
  const c1 = f(1 - a.beta1);
  const c2 = f(1 - a.beta2);
  const bc1 = f(a.oneMinusAccBeta1);
  const bc2 = f(a.oneMinusAccBeta2);
  const eps = f(a.epsilon);
  const step = f(-a.learningRate);
  const n = value.values.length;
  const x = value.values;
  const mv = m.values;
  const vv = v.values;
  const gv = g.values;
  const cp = n >= WASM_MIN ? channelPasses() : null;
  const simd = cp == null ? null : adamWasm(cp, x, mv, vv, gv, { b1, b2, c1, c2, bc1, bc2, eps, step });
  const nv = simd?.value ?? takeArray(n);
  const nm = simd?.m ?? takeArray(n);
  const ns = simd?.v ?? takeArray(n);
  // The SIMD pass did all but the last n % 4 elements, with the same float32 steps as this loop.
  for (let i = simd == null ? 0 : n & ~3; i < n; i++) {
    const gi = gv[i];
    const m1 = f(f(mv[i] * b1) + f(gi * c1));
    const v1 = f(f(vv[i] * b2) + f(f(gi * gi) * c2));
    const mHat = f(m1 / bc1);
    const vHat = f(v1 / bc2);
    nm[i] = m1;
    ns[i] = v1;
    nv[i] = f(f(f(mHat / f(f(Math.sqrt(vHat)) + eps)) * step) + x[i]);
  }
  const shape = value.shape;
  return [
    makeF32(args.backend, shape, nv),
    makeF32(args.backend, shape, nm),
    makeF32(args.backend, shape, ns),
  ];
}

export function adamKernelConfig(): KernelConfig {
  return cpuKernelConfig(ADAM_KERNEL, adam);
}

type Tensor = tfjs.Tensor;
type Variable = tfjs.Variable;
type NamedGrads = tfjs.NamedTensorMap | { name: string; tensor: Tensor }[];

interface AdamLike {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: Variable;
  accBeta2: Variable;
  accumulatedFirstMoment: ({ originalName: string; variable: Variable } | undefined)[];
  accumulatedSecondMoment: ({ originalName: string; variable: Variable } | undefined)[];
  applyGradients(grads: NamedGrads): void;
  incrementIterations(): void;
  edgeloopStockApply?: (grads: NamedGrads) => void;
}

export type TfTrainLike = TfLike &
  Pick<typeof tfjs, 'train' | 'tidy' | 'sub' | 'mul' | 'zerosLike' | 'dispose'> & {
    ENV?: unknown;
  };

function adamPrototype(tf: TfTrainLike): AdamLike {
  const probe = tf.train.adam(0.001) as unknown as AdamLike & { dispose(): void };
  const proto = Object.getPrototypeOf(probe) as AdamLike;
  probe.dispose();
  return proto;
}

function fusedApply(tf: TfTrainLike, stock: (grads: NamedGrads) => void) {
  return function (this: AdamLike, variableGradients: NamedGrads): void {
    const list = Array.isArray(variableGradients) ? variableGradients : null;
    const names = list ? list.map((v) => v.name) : Object.keys(variableGradients);
    const registered = tf.engine().registeredVariables;
    const gradientOf = (name: string, i: number): Tensor | undefined =>
      list ? list[i].tensor : (variableGradients as tfjs.NamedTensorMap)[name];
    const float32 = names.every(
      (name, i) =>
        registered[name]?.dtype === 'float32' && (gradientOf(name, i)?.dtype ?? 'float32') === 'float32',
    );
    if (tf.getBackend() !== 'cpu' || !float32) {
      stock.call(this, variableGradients);
      return;
    }
    tf.tidy(() => {
      const oneMinusAccBeta1 = tf.sub(1, this.accBeta1).dataSync()[0];
      const oneMinusAccBeta2 = tf.sub(1, this.accBeta2).dataSync()[0];
      names.forEach((name, i) => {
        const value = registered[name];
        if (this.accumulatedFirstMoment[i] == null) {
          this.accumulatedFirstMoment[i] = {
            originalName: `${name}/m`,
            variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
          };
        }
        if (this.accumulatedSecondMoment[i] == null) {
          this.accumulatedSecondMoment[i] = {
            originalName: `${name}/v`,
            variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
          };
        }
        const gradient = gradientOf(name, i);
        if (gradient == null) return;
        const m = this.accumulatedFirstMoment[i]?.variable as Variable;
        const v = this.accumulatedSecondMoment[i]?.variable as Variable;
        const [newValue, newM, newV] = tf.engine().runKernel(
          ADAM_KERNEL,
          { value, m, v, g: gradient } as unknown as tfjs.NamedTensorMap,
          {
            beta1: this.beta1,
            beta2: this.beta2,
            epsilon: this.epsilon,
            learningRate: this.learningRate,
            oneMinusAccBeta1,
            oneMinusAccBeta2,
          } as unknown as tfjs.NamedAttrMap,
        ) as Tensor[];
        m.assign(newM);
        v.assign(newV);
        value.assign(newValue);
      });
      this.accBeta1.assign(tf.mul(this.accBeta1, this.beta1));
      this.accBeta2.assign(tf.mul(this.accBeta2, this.beta2));
    });
    this.incrementIterations();
  };
}

/** Installs the fused Adam update and its kernel. Idempotent. */
export function patchAdam(tf: TfTrainLike): void {
  if (tf.getKernel(ADAM_KERNEL, 'cpu') == null) tf.registerKernel(adamKernelConfig());
  const proto = adamPrototype(tf);
  if (Object.hasOwn(proto, 'edgeloopStockApply')) return;
  const stock = proto.applyGradients;
  proto.edgeloopStockApply = stock;
  proto.applyGradients = fusedApply(tf, stock);
}

/** Puts the stock applyGradients back. Idempotent. */
export function unpatchAdam(tf: TfTrainLike): void {
  const proto = adamPrototype(tf);
  const stock = proto.edgeloopStockApply;
  if (stock == null || !Object.hasOwn(proto, 'edgeloopStockApply')) return;
  proto.applyGradients = stock;
  delete proto.edgeloopStockApply;
}
