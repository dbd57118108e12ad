/** The one importer of onnxruntime-node. Everything else talks to the InferenceBackend role. */
import { EdgeloopError } from '@edgeloop/shared';
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

export function createOnnxBackend(): InferenceBackend {
  return {
    async createSession(modelPath: string, options: SessionOptions): Promise<ModelSession> {
      let session: ort.InferenceSession;
      try {
        session = await ort.InferenceSession.create(modelPath, {
          intraOpNumThreads: options.threads,
          interOpNumThreads: 1,
          graphOptimizationLevel: 'all',
        });
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
