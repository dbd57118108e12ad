/**
 * The one importer of onnxruntime-node. Everything else talks to the InferenceBackend role.
 *
 * Each session lives in its own worker thread. onnxruntime-node's `run` executes synchronously on
 * the calling thread (it only defers to setImmediate), so on the main thread every inference would
 * freeze the event loop: no sharp callback, no timer, no MQTT packet for the length of a run. In a
 * worker, decoding frame n+1 (sharp, libuv pool) really overlaps inference of frame n, and the
 * agent stays responsive. Float tensors move to the worker without a copy (transferred). The
 * worker side is onnx-worker.mjs; the two files together are the adapter.
 *
 * Execution providers are tried in the configured order (tensorrt, cuda, cpu). One this build does
 * not list is skipped, and one that fails to initialise (no GPU, no CUDA libraries) makes the
 * session fall back to the CPU, each with a log line, so a Jetson config still runs on a Pi.
 */
import { Worker } from 'node:worker_threads';
import { EdgeloopError, type Logger } from '@edgeloop/shared';
import * as ort from 'onnxruntime-node';
import {
  FEATURES_OUTPUT_NAME,
  type InferenceBackend,
  type ModelSession,
  type SessionOptions,
  type TensorInput,
} from './inference-backend.ts';

export type ExecutionProvider = 'tensorrt' | 'cuda' | 'cpu';

export interface OnnxBackendOptions {
  executionProviders?: readonly ExecutionProvider[];
  logger?: Logger;
  /**
   * Run sessions on the calling thread instead of one worker thread each. For a process that
   * simulates many devices (bench/rollout): a thousand workers, each with its own onnxruntime, cost
   * gigabytes and swamp the cores, while their sessions only load, warm up and smoke-test.
   */
  inProcess?: boolean;
}

interface WorkerInit {
  modelPath: string;
  options: SessionOptions;
  providers: ExecutionProvider[];
}

/** Replies of onnx-worker.mjs; every error there is about the model (MODEL_INVALID). */
type WorkerReply =
  | {
      type: 'ready';
      inputName: string;
      outputName: string;
      featuresName: string | null;
      fallback: string | null;
    }
  | { type: 'result'; id: number; output: Float32Array; features?: Float32Array; input?: Float32Array }
  | { type: 'error'; id: number | null; message: string };

/** The providers of `wanted` this onnxruntime build lists for this platform, cpu always last. */
export function usableProviders(wanted: readonly ExecutionProvider[]): ExecutionProvider[] {
  const listed = new Set(ort.listSupportedBackends().map((b) => b.name));
  return [...wanted.filter((p) => p !== 'cpu' && listed.has(p)), 'cpu'];
}

/** Handed over when the caller allows it and the array owns its whole (JS-allocated) buffer. */
function transferable(input: TensorInput): boolean {
  const { data } = input;
  return (
    input.transfer === true &&
    data instanceof Float32Array &&
    data.byteOffset === 0 &&
    data.byteLength === data.buffer.byteLength
  );
}

export function createOnnxBackend(backendOptions: OnnxBackendOptions = {}): InferenceBackend {
  const wanted = backendOptions.executionProviders ?? ['cpu'];
  const logger = backendOptions.logger;
  const providers = usableProviders(wanted);
  const missing = wanted.filter((p) => !providers.includes(p));
  if (missing.length > 0) {
    logger?.warn({ missing, using: providers }, 'execution providers not in this onnxruntime build; skipped');
  }
  if (backendOptions.inProcess)
    return { createSession: (path, options) => inProcessSession(path, options, providers) };
  return {
    async createSession(modelPath: string, options: SessionOptions): Promise<ModelSession> {
      const init: WorkerInit = { modelPath, options, providers };
      const worker = new Worker(new URL('./onnx-worker.mjs', import.meta.url), { workerData: init });
      type Outputs = { scores: Float32Array; features: Float32Array | null };
      const pending = new Map<
        number,
        { resolve(out: Outputs): void; reject(err: Error): void; recycle?: (data: Float32Array) => void }
      >();
      // Referenced only while it has work: an idle session nobody released must not keep a finished
      // program alive, and a pending run must keep it alive until it answers.
      const busy = () => (pending.size > 0 ? worker.ref() : worker.unref());
      let nextId = 0;
      let dead: Error | null = null;
      type Names = { inputName: string; outputName: string; featuresName: string | null };
      const ready = new Promise<Names>((resolve, reject) => {
        worker.on('message', (reply: WorkerReply) => {
          if (reply.type === 'ready') {
            if (reply.fallback) logger?.warn({ modelPath }, `execution provider fallback: ${reply.fallback}`);
            resolve({
              inputName: reply.inputName,
              outputName: reply.outputName,
              featuresName: reply.featuresName,
            });
          } else if (reply.type === 'error' && reply.id === null) {
            reject(new EdgeloopError('MODEL_INVALID', reply.message));
          } else if (reply.id !== null) {
            const call = pending.get(reply.id);
            pending.delete(reply.id);
            busy();
            if (reply.type === 'result') {
              if (reply.input) call?.recycle?.(reply.input);
              call?.resolve({ scores: reply.output, features: reply.features ?? null });
            } else call?.reject(new EdgeloopError('MODEL_INVALID', reply.message));
          }
        });
        const fail = (err: Error) => {
          dead = err;
          reject(err);
          for (const call of pending.values()) call.reject(err);
          pending.clear();
        };
        worker.on('error', (err) =>
          fail(new EdgeloopError('INTERNAL', `inference worker failed: ${err.message}`)),
        );
        worker.on('exit', (code) => fail(new EdgeloopError('INTERNAL', `inference worker exited (${code})`)));
      });
      let names: Names;
      try {
        names = await ready;
        busy();
      } catch (err) {
        await worker.terminate();
        throw err;
      }
      const call = (input: TensorInput, withFeatures: boolean): Promise<Outputs> => {
        if (dead) return Promise.reject(dead);
        const id = nextId++;
        return new Promise((resolve, reject) => {
          const transfer = transferable(input);
          pending.set(id, { resolve, reject, recycle: transfer ? input.recycle : undefined });
          busy();
          const message = {
            type: 'run',
            id,
            input: { dtype: input.dtype, data: input.data, dims: input.dims },
            returnInput: transfer && input.recycle !== undefined,
            withFeatures,
          };
          worker.postMessage(message, transfer ? [input.data.buffer as ArrayBuffer] : []);
        });
      };
      return {
        ...names,
        run: async (input) => (await call(input, false)).scores,
        runWithFeatures: (input) => call(input, true),
        async release() {
          if (dead) return;
          // An idle worker is unreferenced, and so is the grace timer: without this ref, a program
          // whose last other handle just closed would find its event loop empty while awaiting the
          // exit, and Node would end it with status 13 (unsettled top-level await) mid-shutdown.
          worker.ref();
          const exited = new Promise((resolve) => worker.once('exit', resolve));
          worker.postMessage({ type: 'release' });
          await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
          await worker.terminate();
        },
      };
    },
  };
}

function pickName(kind: string, available: readonly string[], wanted: string | undefined): string {
  const name = wanted ?? available[0];
  if (name === undefined || !available.includes(name))
    throw new EdgeloopError(
      'MODEL_INVALID',
      `model has no ${kind}${wanted ? ` named '${wanted}'` : ''} (it has: ${available.join(', ') || 'none'})`,
    );
  return name;
}

/** A session on the calling thread (see OnnxBackendOptions.inProcess). */
async function inProcessSession(
  modelPath: string,
  options: SessionOptions,
  providers: ExecutionProvider[],
): Promise<ModelSession> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(modelPath, {
      executionProviders: providers,
      intraOpNumThreads: options.threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
  } catch (err) {
    throw new EdgeloopError('MODEL_INVALID', `cannot load model ${modelPath}: ${(err as Error).message}`);
  }
  try {
    const inputName = pickName('input', session.inputNames, options.inputName);
    const outputName = pickName('output', session.outputNames, options.outputName);
    const featuresName =
      outputName !== FEATURES_OUTPUT_NAME && session.outputNames.includes(FEATURES_OUTPUT_NAME)
        ? FEATURES_OUTPUT_NAME
        : null;
    const call = async (input: TensorInput, withFeatures: boolean) => {
      try {
        const wanted = withFeatures && featuresName ? [outputName, featuresName] : [outputName];
        const result = await session.run(
          { [inputName]: new ort.Tensor(input.dtype, input.data, input.dims) },
          wanted,
        );
        for (const name of wanted) {
          if (result[name].type !== 'float32')
            throw new Error(`output '${name}' is ${result[name].type}, expected float32`);
        }
        // Nothing was transferred on this thread: the buffer can go straight back for reuse.
        if (input.transfer && input.recycle && input.data instanceof Float32Array) input.recycle(input.data);
        return {
          scores: result[outputName].data as Float32Array,
          features: wanted.length > 1 ? (result[wanted[1]].data as Float32Array) : null,
        };
      } catch (err) {
        throw new EdgeloopError('MODEL_INVALID', (err as Error).message);
      }
    };
    return {
      inputName,
      outputName,
      featuresName,
      run: async (input) => (await call(input, false)).scores,
      runWithFeatures: (input) => call(input, true),
      release: () => session.release(),
    };
  } catch (err) {
    await session.release();
    throw err;
  }
}
