/**
 * The one importer of onnxruntime-node. Everything else talks to the InferenceBackend role.
 *
 * Execution providers are tried in the configured order (tensorrt, cuda, cpu). A provider this
 * onnxruntime build does not ship, or one that fails to initialise (no GPU, no CUDA libraries), is
 * dropped with one log line and the session is created again on the CPU, so a config written for
 * a Jetson still runs on a Pi.
 */
import { EdgeloopError, type Logger } from '@edgeloop/shared';
import * as ort from 'onnxruntime-node';
import type { InferenceBackend, ModelSession, SessionOptions, TensorInput } from './inference-backend.ts';

function pickName(kind: 'input' | 'output', available: readonly string[], wanted?: string): string {
  if (wanted === undefined) {
    if (available.length === 0) throw new EdgeloopError('MODEL_INVALID', `model has no ${kind}`);
    return available[0];
  }
  if (!available.includes(wanted)) {
    throw new EdgeloopError(
      'MODEL_INVALID',
      `model has no ${kind} named '${wanted}' (it has: ${available.join(', ') || 'none'})`,
    );
  }
  return wanted;
}

export type ExecutionProvider = 'tensorrt' | 'cuda' | 'cpu';

export interface OnnxBackendOptions {
  executionProviders?: readonly ExecutionProvider[];
  logger?: Logger;
}

/** The providers of `wanted` this onnxruntime build lists for this platform, cpu always last. */
export function usableProviders(wanted: readonly ExecutionProvider[]): ExecutionProvider[] {
  const listed = new Set(ort.listSupportedBackends().map((b) => b.name));
  const out = wanted.filter((p) => p !== 'cpu' && listed.has(p));
  return [...out, 'cpu'];
}

export function createOnnxBackend(backendOptions: OnnxBackendOptions = {}): InferenceBackend {
  const wanted = backendOptions.executionProviders ?? ['cpu'];
  const logger = backendOptions.logger;
  const providers = usableProviders(wanted);
  const missing = wanted.filter((p) => !providers.includes(p));
  if (missing.length > 0) {
    logger?.warn({ missing, using: providers }, 'execution providers not in this onnxruntime build; skipped');
  }
  const create = (modelPath: string, options: SessionOptions, eps: ExecutionProvider[]) =>
    ort.InferenceSession.create(modelPath, {
      executionProviders: eps,
      intraOpNumThreads: options.threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
  return {
    async createSession(modelPath: string, options: SessionOptions): Promise<ModelSession> {
      let session: ort.InferenceSession;
      try {
        try {
          session = await create(modelPath, options, providers);
        } catch (err) {
          if (providers.length === 1) throw err;
          logger?.warn(
            { err: (err as Error).message, tried: providers },
            'accelerated execution provider failed to initialise; falling back to cpu',
          );
          session = await create(modelPath, options, ['cpu']);
        }
      } catch (err) {
        throw new EdgeloopError(
          'MODEL_INVALID',
          `cannot load model ${modelPath}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      try {
        const inputName = pickName('input', session.inputNames, options.inputName);
        const outputName = pickName('output', session.outputNames, options.outputName);
        return {
          inputName,
          outputName,
          async run(input: TensorInput): Promise<Float32Array> {
            const tensor = new ort.Tensor(input.dtype, input.data, input.dims);
            const result = await session.run({ [inputName]: tensor }, [outputName]);
            const out = result[outputName];
            if (out.type !== 'float32') {
              throw new EdgeloopError(
                'MODEL_INVALID',
                `output '${outputName}' is ${out.type}, expected float32`,
              );
            }
            return out.data as Float32Array;
          },
          release: () => session.release(),
        };
      } catch (err) {
        await session.release();
        throw err;
      }
    },
  };
}
