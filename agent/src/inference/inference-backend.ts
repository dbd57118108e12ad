/** The role the inference runtime plays; `onnx-backend.ts` is the one implementation. */
import type { ExecutionProvider } from '@edgeloop/shared';

export type TensorDtype = 'uint8' | 'float32';

export interface TensorInput {
  dtype: TensorDtype;
  data: Uint8Array | Float32Array;
  dims: readonly number[];
  /** The caller hands the buffer over (it is detached after `run`), saving a copy per frame. */
  transfer?: boolean;
  /** With `transfer`: receives the buffer back once the run is done, for the next frame's tensor. */
  recycle?: (data: Float32Array) => void;
}

/**
 * The optional second output a model may export: the frame's features (e.g. the penultimate
 * layer, pooled), compacted into the sample's embedding for the labelling queue's diversity.
 */
export const FEATURES_OUTPUT_NAME = 'features';

export interface ModelSession {
  readonly inputName: string;
  readonly outputName: string;
  /** The execution provider the session was created with (the first of its list that loaded). */
  readonly executionProvider: ExecutionProvider;
  /** FEATURES_OUTPUT_NAME when the model has that output (besides `outputName`), else null. */
  readonly featuresName: string | null;
  /** Runs the model on one input tensor and returns the output tensor's values. */
  run(input: TensorInput): Promise<Float32Array>;
  /** As `run`, and also the features output's values (null when the model has none). */
  runWithFeatures(input: TensorInput): Promise<{ scores: Float32Array; features: Float32Array | null }>;
  /** Frees native memory; the session must not be used afterwards. */
  release(): Promise<void>;
}

export interface SessionOptions {
  threads: number;
  /** When given, the model must have an input / output of exactly this name. */
  inputName?: string;
  outputName?: string;
}

export interface InferenceBackend {
  /**
   * Finds the execution provider to use, once: the first configured one that loads. Throws
   * EXECUTION_PROVIDER_UNAVAILABLE when none does. createSession waits for it too.
   */
  prepare(): Promise<ExecutionProvider>;
  createSession(modelPath: string, options: SessionOptions): Promise<ModelSession>;
}
