/**
 * Types and helpers shared by the fast 'cpu' kernels. tfjs is imported for types only: the module
 * instance is passed in, so the kernels work with whichever tfjs copy the trainer loaded.
 */
import type * as tfjs from '@tensorflow/tfjs';
import type { ConvGeometry } from './im2col.ts';
import type { Gemm } from './wasm/gemm-runtime.ts';

/** The parts of the tfjs module the fast kernels use (tfjs and tfjs-node both satisfy it). */
export type TfLike = Pick<
  typeof tfjs,
  | 'getKernel'
  | 'registerKernel'
  | 'unregisterKernel'
  | 'getGradient'
  | 'registerGradient'
  | 'engine'
  | 'getBackend'
  | 'backend_util'
  | 'util'
  | 'slice_util'
>;
export type KernelFunc = tfjs.KernelFunc;
export type KernelConfig = tfjs.KernelConfig;
export type TensorInfo = tfjs.TensorInfo;
export type KernelArgs = Parameters<KernelFunc>[0];
export type Conv2DInfo = ReturnType<TfLike['backend_util']['computeConv2DInfo']>;
export type Shape4 = [number, number, number, number];

/** What registration hands every kernel: the SIMD matrix product, when WebAssembly SIMD is on. */
export interface KernelContext {
  gemm: Gemm | null;
}

/** A replacement for one stock kernel; `create` gets the stock kernelFunc to fall back on. */
export interface FastKernelSpec {
  kernelName: string;
  create(tf: TfLike, stock: KernelFunc, ctx: KernelContext): KernelFunc;
}

/** The slice of tfjs-backend-cpu's MathBackendCPU the kernels touch. */
interface CpuBackend {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: 'float32' | 'bool', values: Float32Array | Uint8Array): TensorInfo;
}

function cpu(backend: unknown): CpuBackend {
  return backend as CpuBackend;
}

/** The float32 values behind a tensor, or null when it is not a plain float32 tensor on this backend. */
export function f32(backend: unknown, t: TensorInfo | undefined): Float32Array | null {
  if (t == null || t.dtype !== 'float32') return null;
  const values = cpu(backend).data.get(t.dataId)?.values;
  return values instanceof Float32Array ? values : null;
}

export interface F32Input {
  shape: number[];
  values: Float32Array;
}

/** A named kernel input as shape + float32 values, or null when absent or not float32. */
export function f32Input(args: KernelArgs, name: string): F32Input | null {
  const t = args.inputs[name];
  const values = f32(args.backend, t);
  return t == null || values == null ? null : { shape: t.shape, values };
}

export function makeF32(backend: unknown, shape: number[], values: Float32Array): TensorInfo {
  return cpu(backend).makeTensorInfo(shape, 'float32', values);
}

export function makeTyped(
  backend: unknown,
  shape: number[],
  dtype: 'float32' | 'bool',
  values: Float32Array | Uint8Array,
): TensorInfo {
  return cpu(backend).makeTensorInfo(shape, dtype, values);
}

interface ValuesOf {
  float32: Float32Array;
  bool: Uint8Array;
}

/** A named input of the given dtype as shape + values, or null when absent or of another dtype. */
export function typedInput<D extends keyof ValuesOf>(
  args: KernelArgs,
  name: string,
  dtype: D,
): { shape: number[]; values: ValuesOf[D] } | null {
  const t = args.inputs[name];
  if (t == null || t.dtype !== dtype) return null;
  const values = cpu(args.backend).data.get(t.dataId)?.values;
  const ok = dtype === 'float32' ? values instanceof Float32Array : values instanceof Uint8Array;
  return ok ? { shape: t.shape, values: values as ValuesOf[D] } : null;
}

/** Attributes are loosely typed in tfjs (NamedAttrMap); kernels read them through this view. */
// biome-ignore lint/suspicious/noExplicitAny: kernel attrs are an untyped bag in tfjs
export type Attrs = Record<string, any>;

/** A kernel of ours registered on the 'cpu' backend under its own name. */
export function cpuKernelConfig(
  kernelName: string,
  kernelFunc: (a: KernelArgs) => TensorInfo | TensorInfo[],
): KernelConfig {
  return { kernelName, backendName: 'cpu', kernelFunc: kernelFunc as KernelConfig['kernelFunc'] };
}

export function attrsOf(args: KernelArgs): Attrs {
  return (args.attrs ?? {}) as Attrs;
}

export function geometryOf(info: Conv2DInfo): ConvGeometry {
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    fh: info.filterHeight,
    fw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    dh: info.dilationHeight,
    dw: info.dilationWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/** True when every dilation is 1 (attr may be absent, a number, or a pair). */
export function unitDilations(dilations: unknown): boolean {
  if (dilations == null) return true;
  if (typeof dilations === 'number') return dilations === 1;
  return Array.isArray(dilations) && dilations.every((d) => d === 1);
}
