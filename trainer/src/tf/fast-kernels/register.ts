/**
 * Installs the fast kernels over the stock tfjs 'cpu' kernels, and puts the stock ones back.
 *
 * State lives only in the tfjs kernel registry: each config we register carries the stock config it
 * replaced, so registering twice neither wraps our own kernel nor loses the original.
 */

import { patchAdam, type TfTrainLike, unpatchAdam } from './adam-patch.ts';
import { batchNormKernels } from './batchnorm-kernels.ts';
import { installBufferPool, uninstallBufferPool } from './buffer-pool.ts';
import { conv2dKernels } from './conv2d-kernels.ts';
import { depthwiseKernels } from './depthwise-kernels.ts';
import { elementwiseKernels } from './elementwise-kernels.ts';
import { registerFastGradients, restoreStockGradients } from './fast-gradients.ts';
import type { FastKernelSpec, KernelConfig, KernelContext, TfLike } from './kernel-util.ts';
import { patchLayers, type TfLayersLike, unpatchLayers } from './layer-patches.ts';
import { matmulKernels } from './matmul-kernels.ts';
import { reduceKernels } from './reduce-kernels.ts';
import { slicePadKernels } from './slice-pad-kernels.ts';
import { unaryKernels } from './unary-kernels.ts';
import { createGemm } from './wasm/gemm-runtime.ts';
import { kernelPool, setKernelThreads } from './wasm/parallel.ts';

const BACKEND = 'cpu';

function isFast(config: KernelConfig): config is FastKernelConfig {
  return 'edgeloopStock' in config;
}

function allSpecs(): FastKernelSpec[] {
  return [
    ...conv2dKernels(),
    ...depthwiseKernels(),
    ...elementwiseKernels(),
    ...reduceKernels(),
    ...unaryKernels(),
    ...batchNormKernels(),
    ...slicePadKernels(),
    ...matmulKernels(),
  ];
}

export interface RegisterOptions {
  /** false keeps the plain-JS matrix products even where WebAssembly SIMD is available. */
  wasm?: boolean;
  /** false leaves tfjs-layers' BatchNormalization and ReLU layers on their stock op chains. */
  layers?: boolean;
  /** false leaves tfjs's Adam on its 14 elementwise kernels per variable (adam-patch.ts). */
  adam?: boolean;
  /** false gives every kernel output a fresh array instead of recycling freed ones (buffer-pool.ts). */
  pool?: boolean;
  /**
   * Threads the SIMD kernels use, the calling one included (wasm/threads.ts); default
   * EDGELOOP_TRAIN_THREADS, else the core count up to 4. 1 keeps every kernel on the calling thread.
   */
  threads?: number;
}

function cpuBackend(tf: TfLike): unknown {
  // The engine's first use of a backend (re)creates the instances: make that happen now, so the
  // pool hooks the instance that will run the kernels.
  tf.getBackend();
  return tf.engine().findBackend(BACKEND);
}

function hasTrain(tf: TfLike): tf is TfTrainLike {
  return 'train' in tf && 'zerosLike' in tf;
}

function hasLayers(tf: TfLike): tf is TfLayersLike {
  return 'layers' in tf && 'customGrad' in tf;
}

interface FastKernelConfig extends KernelConfig {
  edgeloopStock: KernelConfig;
  edgeloopSimd?: boolean;
}

/** True when the registered Conv2D kernel runs on the WebAssembly SIMD matrix product. */
export function usesSimd(tf: TfLike): boolean {
  const current = tf.getKernel('Conv2D', BACKEND);
  return current != null && isFast(current) && current.edgeloopSimd === true;
}

/**
 * Threads the SIMD kernels run on (starting the worker pool if it is not running): 1 without shared
 * memory or workers, or when set to 1.
 */
export function kernelThreads(): number {
  return kernelPool()?.threads ?? 1;
}

/** Names of the kernels this module can replace. */
export function fastCpuKernelNames(): string[] {
  return allSpecs().map((s) => s.kernelName);
}

/**
 * Registers the fast kernels for the 'cpu' backend and the fused gradients (fast-gradients.ts).
 * Idempotent. Skips kernels the backend lacks.
 */
export function registerFastCpuKernels(
  tf: TfLike,
  options: RegisterOptions = {},
): { registered: string[]; gradients: string[]; simd: boolean; threads: number } {
  const registered: string[] = [];
  // One SIMD module and arena for all kernels of this registration (compiling it is cheap).
  const ctx: KernelContext = { gemm: options.wasm === false ? null : createGemm() };
  for (const spec of allSpecs()) {
    const current = tf.getKernel(spec.kernelName, BACKEND);
    if (current == null) continue;
    if (!isFast(current)) {
      const config: FastKernelConfig = {
        ...current,
        kernelFunc: spec.create(tf, current.kernelFunc, ctx),
        edgeloopStock: current,
        edgeloopSimd: ctx.gemm != null,
      };
      tf.unregisterKernel(spec.kernelName, BACKEND);
      tf.registerKernel(config);
    }
    registered.push(spec.kernelName);
  }
  if (options.threads != null) setKernelThreads(options.threads);
  const gradients = registerFastGradients(tf);
  if (options.layers !== false && hasLayers(tf)) patchLayers(tf);
  if (options.adam !== false && hasTrain(tf)) patchAdam(tf);
  else if (hasTrain(tf)) unpatchAdam(tf);
  if (options.pool !== false) installBufferPool(cpuBackend(tf));
  else uninstallBufferPool(cpuBackend(tf));
  const simd = usesSimd(tf);
  return { registered, gradients, simd, threads: simd ? kernelThreads() : 1 };
}

/** Puts the stock kernels and gradients back where the fast ones were registered. Idempotent. */
export function restoreStockCpuKernels(tf: TfLike): { restored: string[]; gradients: string[] } {
  const restored: string[] = [];
  for (const spec of allSpecs()) {
    const current = tf.getKernel(spec.kernelName, BACKEND);
    if (current == null || !isFast(current)) continue;
    tf.unregisterKernel(spec.kernelName, BACKEND);
    tf.registerKernel(current.edgeloopStock);
    restored.push(spec.kernelName);
  }
  if (hasLayers(tf)) unpatchLayers(tf);
  if (hasTrain(tf)) unpatchAdam(tf);
  uninstallBufferPool(cpuBackend(tf));
  return { restored, gradients: restoreStockGradients(tf) };
}

/** The stock kernel behind a name (whether or not the fast one is installed); for tests. */
export function stockCpuKernel(tf: TfLike, kernelName: string): KernelConfig | undefined {
  const current = tf.getKernel(kernelName, BACKEND);
  if (current == null) return undefined;
  return isFast(current) ? current.edgeloopStock : current;
}
