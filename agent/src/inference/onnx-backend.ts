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
 * Execution providers are tried in the configured order (auto: tensorrt, cuda, cpu) once, at
 * `prepare`, on a one-node probe model: one this build does not list, or that fails to load (npm's
 * package has no CUDA/TensorRT libraries; no GPU), is skipped with one log line, and the first that
 * loads is the one sessions use (with the providers after it as onnxruntime's per-node fallback).
 * None loading is EXECUTION_PROVIDER_UNAVAILABLE: with cpu in the list that cannot happen, without
 * it the operator said the CPU is not good enough, so the agent does not start on it.
 */
import { Worker } from 'node:worker_threads';
import {
  AUTO_EXECUTION_PROVIDERS,
  EdgeloopError,
  type ExecutionProvider,
  type Logger,
} from '@edgeloop/shared';
import * as ort from 'onnxruntime-node';
import {
  FEATURES_OUTPUT_NAME,
  type InferenceBackend,
  type ModelSession,
  type SessionOptions,
  type TensorInput,
} from './inference-backend.ts';

export type { ExecutionProvider } from '@edgeloop/shared';

/**
 * ONNX ModelProto (ir 8, opset 13) of one Relu on a float [1] (`x` → `y`), made with onnx.helper
 * and checked by onnx.checker: enough for a provider to load and run, before any model is installed.
 */
const PROBE_MODEL = Buffer.from(
  'CAgSCGVkZ2Vsb29wOjcKDAoBeBIBeSIEUmVsdRIFcHJvYmVaDwoBeBIKCggIARIECgIIAWIPCgF5EgoKCAgBEgQKAggBQgQKABAN',
  'base64',
);

export interface OnnxBackendOptions {
  /** 'auto' is tensorrt, cuda, cpu. Default: cpu only (tests and benchmarks). */
  executionProviders?: readonly ExecutionProvider[] | 'auto';
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
      provider: ExecutionProvider;
      featuresName: string | null;
      fallback: string | null;
    }
  | { type: 'result'; id: number; output: Float32Array; features?: Float32Array; input?: Float32Array }
  | { type: 'error'; id: number | null; message: string };

export interface ProviderChoice {
  /** The provider sessions are created for. */
  provider: ExecutionProvider;
  /** What sessions pass to onnxruntime: the chosen provider and the listed ones after it. */
  providers: ExecutionProvider[];
  /** Providers tried before it, and why each was skipped. */
  skipped: { provider: ExecutionProvider; reason: string }[];
}

/**
 * Tries each provider of `wanted` in order on the probe model; the first that creates a session
 * and runs wins. onnxruntime prints its own error line for each provider library it cannot open;
 * its log is set to fatal first (it is process-wide and set once), the reason is logged here.
 */
export async function chooseProvider(
  wanted: readonly ExecutionProvider[],
  logger?: Logger,
): Promise<ProviderChoice> {
  ort.env.logLevel = 'fatal';
  const listed = new Set(ort.listSupportedBackends().map((b) => b.name));
  const skipped: ProviderChoice['skipped'] = [];
  for (const [i, provider] of wanted.entries()) {
    if (provider !== 'cpu' && !listed.has(provider)) {
      skipped.push({ provider, reason: 'not in this onnxruntime build' });
      continue;
    }
    try {
      const session = await ort.InferenceSession.create(PROBE_MODEL, { executionProviders: [provider] });
      try {
        await session.run({ x: new ort.Tensor('float32', new Float32Array([1]), [1]) });
      } finally {
        await session.release();
      }
    } catch (err) {
      skipped.push({ provider, reason: (err as Error).message.slice(0, 300) });
      continue;
    }
    const providers = [provider, ...wanted.slice(i + 1).filter((p) => p === 'cpu' || listed.has(p))];
    if (skipped.length > 0)
      logger?.warn({ skipped, using: provider }, `execution provider fallback: using ${provider}`);
    logger?.info({ executionProvider: provider, providers }, 'execution provider chosen');
    return { provider, providers, skipped };
  }
  throw new EdgeloopError(
    'EXECUTION_PROVIDER_UNAVAILABLE',
    `none of the configured execution providers loads (${skipped.map((s) => `${s.provider}: ${s.reason}`).join('; ')}); add "cpu" to inference.executionProviders (or use "auto") to run on the CPU`,
    { details: { skipped } },
  );
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
  const configured = backendOptions.executionProviders ?? ['cpu'];
  const wanted = configured === 'auto' ? AUTO_EXECUTION_PROVIDERS : configured;
  const logger = backendOptions.logger;
  let choice: Promise<ProviderChoice> | null = null;
  const prepare = () => {
    choice ??= chooseProvider(wanted, logger);
    return choice;
  };
  if (backendOptions.inProcess)
    return {
      prepare: async () => (await prepare()).provider,
      createSession: async (path, options) => inProcessSession(path, options, (await prepare()).providers),
    };
  return {
    prepare: async () => (await prepare()).provider,
    async createSession(modelPath: string, options: SessionOptions): Promise<ModelSession> {
      const { providers } = await prepare();
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
      type Names = {
        inputName: string;
        outputName: string;
        featuresName: string | null;
        executionProvider: ExecutionProvider;
      };
      const ready = new Promise<Names>((resolve, reject) => {
        worker.on('message', (reply: WorkerReply) => {
          if (reply.type === 'ready') {
            if (reply.fallback) logger?.warn({ modelPath }, `execution provider fallback: ${reply.fallback}`);
            resolve({
              inputName: reply.inputName,
              outputName: reply.outputName,
              featuresName: reply.featuresName,
              executionProvider: reply.provider,
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
  let session: ort.InferenceSession | null = null;
  let executionProvider = providers[0];
  let failure: Error | null = null;
  // As the worker does: a provider that refuses this model hands it to the next one in the list.
  for (const [i, provider] of providers.entries()) {
    try {
      session = await ort.InferenceSession.create(modelPath, {
        executionProviders: providers.slice(i),
        intraOpNumThreads: options.threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      });
      executionProvider = provider;
      break;
    } catch (err) {
      failure = err as Error;
    }
  }
  if (!session)
    throw new EdgeloopError('MODEL_INVALID', `cannot load model ${modelPath}: ${failure?.message}`);
  try {
    const inputName = pickName('input', session.inputNames, options.inputName);
    const outputName = pickName('output', session.outputNames, options.outputName);
    const loaded = session;
    const featuresName =
      outputName !== FEATURES_OUTPUT_NAME && session.outputNames.includes(FEATURES_OUTPUT_NAME)
        ? FEATURES_OUTPUT_NAME
        : null;
    const call = async (input: TensorInput, withFeatures: boolean) => {
      try {
        const wanted = withFeatures && featuresName ? [outputName, featuresName] : [outputName];
        const result = await loaded.run(
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
      executionProvider,
      run: async (input) => (await call(input, false)).scores,
      runWithFeatures: (input) => call(input, true),
      release: () => loaded.release(),
    };
  } catch (err) {
    await session.release();
    throw err;
  }
}
