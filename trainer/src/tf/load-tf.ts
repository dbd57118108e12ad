/**
 * Picks the fastest TensorFlow.js backend available. Native TensorFlow (@tensorflow/tfjs-node) is an
 * optional dependency: its install downloads libtensorflow and fails on machines without that
 * internet access, and npm then drops it. Without it we use the pure-JS CPU backend with our own
 * fast kernels and fused gradients (see ./fast-kernels; the matrix products and depthwise
 * convolutions run as WebAssembly SIMD where available, on a shared heap split between threads,
 * EDGELOOP_TRAIN_THREADS), which is what CI and most edge-side trainers run.
 */
import * as tf from '@tensorflow/tfjs';
import { registerFastCpuKernels } from './fast-kernels/index.ts';

export type Tf = typeof tf;

/**
 * Short, stable name of what runs the training math, for metrics.json and benchmark output:
 * 'tensorflow' (tfjs-node), 'cpu+edgeloop-simd' (our kernels on WebAssembly SIMD),
 * 'cpu+edgeloop-js' (our kernels, no SIMD), or 'cpu' (stock tfjs kernels, EDGELOOP_FAST_KERNELS=0).
 */
export type BackendName = 'tensorflow' | 'cpu+edgeloop-simd' | 'cpu+edgeloop-js' | 'cpu';

export interface TfRuntime {
  tf: Tf;
  /** The tfjs backend ('tensorflow' or 'cpu'). */
  backend: string;
  /** Which backend and kernels do the work; see BackendName. */
  name: BackendName;
  /** Human-readable: which backend and why. */
  description: string;
}

let runtime: Promise<TfRuntime> | undefined;

async function tryNative(): Promise<boolean> {
  try {
    // A variable specifier keeps bundlers and type-checkers from requiring the optional package.
    const name = '@tensorflow/tfjs-node';
    await import(name);
    return tf.getBackend() === 'tensorflow' || (await tf.setBackend('tensorflow'));
  } catch {
    return false;
  }
}

async function init(preferNative: boolean): Promise<TfRuntime> {
  // PROD skips tfjs's debug-only checks and its console banner recommending tfjs-node: we have
  // already chosen the backend and say which one in our own output.
  tf.env().set('PROD', true);
  if (preferNative && (await tryNative())) {
    return {
      tf,
      backend: 'tensorflow',
      name: 'tensorflow',
      description: 'native TensorFlow (@tensorflow/tfjs-node)',
    };
  }
  await tf.setBackend('cpu');
  await tf.ready();
  // EDGELOOP_FAST_KERNELS=0 keeps tfjs's stock kernels (for comparisons and bug hunts).
  if (process.env.EDGELOOP_FAST_KERNELS === '0') {
    return { tf, backend: 'cpu', name: 'cpu', description: 'pure-JS CPU backend, stock tfjs kernels' };
  }
  const { registered, gradients, simd, threads } = registerFastCpuKernels(tf);
  return {
    tf,
    backend: 'cpu',
    name: simd ? 'cpu+edgeloop-simd' : 'cpu+edgeloop-js',
    description:
      `pure-JS CPU backend with ${registered.length} edgeloop fast kernels and ${gradients.length} fused ` +
      `gradients${simd ? `, matrix products on WebAssembly SIMD on ${threads} thread${threads > 1 ? 's' : ''}` : ''}` +
      ' (tfjs-node not installed)',
  };
}

/** Initialises tfjs once per process; later calls share the same runtime. */
export function loadTf(options: { preferNative?: boolean } = {}): Promise<TfRuntime> {
  runtime ??= init(options.preferNative ?? process.env.EDGELOOP_TF_NATIVE !== '0');
  return runtime;
}
