/**
 * The one importer of onnxruntime-node. Everything else talks to the InferenceBackend role.
 *
 * Each session lives in its own worker thread. onnxruntime-node's `run` executes synchronously on
 * the calling thread (it only defers to setImmediate), so on the main thread every inference would
 * freeze the event loop: no sharp callback, no timer, no MQTT packet for the length of a run. In a
 * worker, decoding frame n+1 (sharp, libuv pool) really overlaps inference of frame n, and the
 * agent stays responsive. Float tensors move to the worker without a copy (transferred).
 *
 * Execution providers are tried in the configured order (tensorrt, cuda, cpu). One this build does
 * not list is skipped, and one that fails to initialise (no GPU, no CUDA libraries) makes the
 * session fall back to the CPU, each with a log line, so a Jetson config still runs on a Pi.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { EdgeloopError, type ErrorCode, type Logger } from '@edgeloop/shared';
import * as ort from 'onnxruntime-node';
import type { InferenceBackend, ModelSession, SessionOptions, TensorInput } from './inference-backend.ts';

export type ExecutionProvider = 'tensorrt' | 'cuda' | 'cpu';

export interface OnnxBackendOptions {
  executionProviders?: readonly ExecutionProvider[];
  logger?: Logger;
}

interface WorkerInit {
  role: 'edgeloop-onnx-session';
  modelPath: string;
  options: SessionOptions;
  providers: ExecutionProvider[];
}

type WorkerReply =
  | { type: 'ready'; inputName: string; outputName: string; fallback: string | null }
  | { type: 'result'; id: number; output: Float32Array }
  | { type: 'error'; id: number | null; code: ErrorCode; message: string };

/** The providers of `wanted` this onnxruntime build lists for this platform, cpu always last. */
export function usableProviders(wanted: readonly ExecutionProvider[]): ExecutionProvider[] {
  const listed = new Set(ort.listSupportedBackends().map((b) => b.name));
  return [...wanted.filter((p) => p !== 'cpu' && listed.has(p)), 'cpu'];
}

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

function errorReply(id: number | null, err: unknown): WorkerReply {
  const code = err instanceof EdgeloopError ? err.code : 'MODEL_INVALID';
  return { type: 'error', id, code, message: (err as Error).message ?? String(err) };
}

/** Worker side: opens the session, then answers run requests until told to release. */
export async function runOnnxSessionWorker(): Promise<void> {
  const init = workerData as WorkerInit;
  const port = parentPort;
  if (isMainThread || !port || init?.role !== 'edgeloop-onnx-session') return;
  const create = (eps: ExecutionProvider[]) =>
    ort.InferenceSession.create(init.modelPath, {
      executionProviders: eps,
      intraOpNumThreads: init.options.threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
  let session: ort.InferenceSession;
  let fallback: string | null = null;
  try {
    try {
      session = await create(init.providers);
    } catch (err) {
      if (init.providers.length === 1) throw err;
      fallback = `${init.providers.join(',')} failed (${(err as Error).message}); using cpu`;
      session = await create(['cpu']);
    }
  } catch (err) {
    port.postMessage(
      errorReply(null, new Error(`cannot load model ${init.modelPath}: ${(err as Error).message}`)),
    );
    return;
  }
  let inputName: string;
  let outputName: string;
  try {
    inputName = pickName('input', session.inputNames, init.options.inputName);
    outputName = pickName('output', session.outputNames, init.options.outputName);
  } catch (err) {
    await session.release();
    port.postMessage(errorReply(null, err));
    return;
  }
  port.postMessage({ type: 'ready', inputName, outputName, fallback } satisfies WorkerReply);
  port.on('message', async (msg: { type: 'run'; id: number; input: TensorInput } | { type: 'release' }) => {
    if (msg.type === 'release') {
      await session.release();
      port.close();
      return;
    }
    try {
      const { dtype, data, dims } = msg.input;
      const result = await session.run({ [inputName]: new ort.Tensor(dtype, data, dims) }, [outputName]);
      const out = result[outputName];
      if (out.type !== 'float32') {
        throw new EdgeloopError('MODEL_INVALID', `output '${outputName}' is ${out.type}, expected float32`);
      }
      const output = out.data as Float32Array;
      port.postMessage({ type: 'result', id: msg.id, output } satisfies WorkerReply, [
        output.buffer as ArrayBuffer,
      ]);
    } catch (err) {
      port.postMessage(errorReply(msg.id, err));
    }
  });
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
  return {
    async createSession(modelPath: string, options: SessionOptions): Promise<ModelSession> {
      const init: WorkerInit = { role: 'edgeloop-onnx-session', modelPath, options, providers };
      const worker = new Worker(new URL('./onnx-worker.mjs', import.meta.url), { workerData: init });
      const pending = new Map<number, { resolve(out: Float32Array): void; reject(err: Error): void }>();
      let nextId = 0;
      let dead: Error | null = null;
      const ready = new Promise<{ inputName: string; outputName: string }>((resolve, reject) => {
        worker.on('message', (reply: WorkerReply) => {
          if (reply.type === 'ready') {
            if (reply.fallback) logger?.warn({ modelPath }, `execution provider fallback: ${reply.fallback}`);
            resolve(reply);
          } else if (reply.type === 'error' && reply.id === null) {
            reject(new EdgeloopError(reply.code, reply.message));
          } else if (reply.id !== null) {
            const call = pending.get(reply.id);
            pending.delete(reply.id);
            if (reply.type === 'result') call?.resolve(reply.output);
            else call?.reject(new EdgeloopError(reply.code, reply.message));
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
      let names: { inputName: string; outputName: string };
      try {
        names = await ready;
      } catch (err) {
        await worker.terminate();
        throw err;
      }
      return {
        ...names,
        run(input: TensorInput): Promise<Float32Array> {
          if (dead) return Promise.reject(dead);
          const id = nextId++;
          return new Promise((resolve, reject) => {
            pending.set(id, { resolve, reject });
            const message = {
              type: 'run',
              id,
              input: { dtype: input.dtype, data: input.data, dims: input.dims },
            };
            worker.postMessage(message, transferable(input) ? [input.data.buffer as ArrayBuffer] : []);
          });
        },
        async release() {
          if (dead) return;
          const exited = new Promise((resolve) => worker.once('exit', resolve));
          worker.postMessage({ type: 'release' });
          await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
          await worker.terminate();
        },
      };
    },
  };
}
