/**
 * Picks the fastest TensorFlow.js backend available. Native TensorFlow (@tensorflow/tfjs-node) is an
 * optional dependency: its install downloads libtensorflow and fails on machines without that
 * internet access, and npm then drops it. Without it we use the pure-JS CPU backend with our own
 * fast kernels (see ./fast-kernels), which is what CI and most edge-side trainers run.
 */
import * as tf from '@tensorflow/tfjs';
import { registerFastCpuKernels } from './fast-kernels/index.ts';

export type Tf = typeof tf;

export interface TfRuntime {
  tf: Tf;
  backend: string;
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
    return { tf, backend: 'tensorflow', description: 'native TensorFlow (@tensorflow/tfjs-node)' };
  }
  // EDGELOOP_FAST_KERNELS=0 keeps tfjs's stock kernels (for comparisons and bug hunts).
  const { registered } =
    process.env.EDGELOOP_FAST_KERNELS === '0' ? { registered: [] } : registerFastCpuKernels(tf);
  await tf.setBackend('cpu');
  await tf.ready();
  return {
    tf,
    backend: 'cpu',
    description: `pure-JS CPU backend with ${registered.length} edgeloop fast kernels (tfjs-node not installed)`,
  };
}

/** Initialises tfjs once per process; later calls share the same runtime. */
export function loadTf(options: { preferNative?: boolean } = {}): Promise<TfRuntime> {
  runtime ??= init(options.preferNative ?? process.env.EDGELOOP_TF_NATIVE !== '0');
  return runtime;
}
