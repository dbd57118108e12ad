/**
 * A persistent pool of worker threads that run parts of the SIMD kernels on the shared heap
 * (heap.ts). Each worker instantiates the gemm and channel modules on the same shared memory, then
 * sleeps in Atomics.wait on one control block all threads share. A kernel writes its parts (export
 * index + numeric arguments, usually a few per thread) into the block, publishes them, wakes the
 * workers, and takes parts itself; every thread, the calling one included, claims the next part
 * with a compare-and-swap until none is left, then the calling thread waits for parts still
 * running. Parts are small, so a worker that wakes late or loses its core (a busy machine) only
 * takes fewer of them, and the calling thread waits at most for the parts a worker already
 * started. No messages, no copies: parts touch disjoint output ranges of memory all threads see. A
 * worker is only ever handed calls of exports that cannot throw on valid addresses; a failed call
 * still counts as done and sets a flag, so the caller throws instead of waiting forever.
 *
 * Workers are unref'd (they never keep the process alive) and run plain JavaScript given as source
 * (no loader, so they start the same under tsx, vitest forks or plain node). Without
 * SharedArrayBuffer, with EDGELOOP_TRAIN_THREADS=1, or when no worker starts, there is no pool and
 * kernels run whole on the calling thread.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { WasmHeap } from './heap.ts';

/** Worker threads at most, besides the calling thread. */
const MAX_THREADS = 4;
const MAX_ARGS = 12;
/** Parts one run publishes at most (larger runs go in batches); must fit NEXT's index byte. */
export const MAX_PARTS = 64;
/**
 * Control block: int32 [seq, next, done, fn, ready, stop, failed, pad] then MAX_PARTS x MAX_ARGS
 * float64 arguments. `next` packs (parts << 8) | index of the next unclaimed part: a successful
 * compare-and-swap from a value with index < parts claims that part of the current run, and
 * whoever claims it reads the function and arguments only afterwards, so they always belong to the
 * run the part came from (the caller rewrites them only once every part of the previous run is
 * done). `done` counts finished parts; `seq` changes once per run to wake sleeping workers.
 */
const [SEQ, NEXT, DONE, FN, READY, STOP, FAILED] = [0, 1, 2, 3, 4, 5, 6];
const STATE_INTS = 8;
const CTRL_BYTES = STATE_INTS * 4 + 8 * MAX_ARGS * MAX_PARTS;
const START_TIMEOUT_MS = 10_000;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { memory, modules, names, ctrl } = workerData;
const fns = [];
modules.forEach((m, i) => {
  const ex = new WebAssembly.Instance(m, { env: { memory } }).exports;
  for (const n of names[i]) fns.push(ex[n]);
});
const state = new Int32Array(ctrl, 0, ${STATE_INTS});
const a = new Float64Array(ctrl, ${STATE_INTS * 4}, ${MAX_ARGS * MAX_PARTS});
Atomics.add(state, ${READY}, 1);
Atomics.notify(state, ${READY});
for (;;) {
  // Read before looking for parts: a run published after this read changes seq, so the wait
  // below returns at once instead of sleeping through it.
  const seq = Atomics.load(state, ${SEQ});
  if (Atomics.load(state, ${STOP}) !== 0) break;
  for (;;) {
    const v = Atomics.load(state, ${NEXT});
    const parts = v >>> 8;
    const i = v & 255;
    if (i >= parts) break;
    if (Atomics.compareExchange(state, ${NEXT}, v, v + 1) !== v) continue;
    const o = i * ${MAX_ARGS};
    try {
      fns[state[${FN}]](a[o], a[o + 1], a[o + 2], a[o + 3], a[o + 4], a[o + 5], a[o + 6], a[o + 7], a[o + 8], a[o + 9], a[o + 10], a[o + 11]);
    } catch {
      Atomics.store(state, ${FAILED}, 1);
    }
    if (Atomics.add(state, ${DONE}, 1) + 1 === parts) Atomics.notify(state, ${DONE});
  }
  Atomics.wait(state, ${SEQ}, seq);
}
`;

export type RawFn = (...args: number[]) => void;

/** A compiled module and the exports of it that workers may run. */
export interface PoolModule {
  module: object;
  raw: Record<string, RawFn>;
  names: string[];
}

export interface ThreadPool {
  /** Threads that take part in a `run`, the calling one included. */
  readonly threads: number;
  /**
   * Calls export `name` once per argument list, the lists shared out between the calling thread
   * and the workers as each becomes free; returns when all are done.
   */
  run(name: string, argLists: number[][]): void;
  /** Stops the workers; later runs execute every list on the calling thread. */
  close(): void;
}

function startWorkers(
  heap: WasmHeap,
  modules: PoolModule[],
  ctrl: SharedArrayBuffer,
  count: number,
): Worker[] {
  const state = new Int32Array(ctrl, 0, STATE_INTS);
  const workers: Worker[] = [];
  for (let i = 0; i < count; i++) {
    let worker: Worker;
    try {
      worker = new Worker(WORKER_SOURCE, {
        eval: true,
        // The parent's loader flags (tsx, vitest) are not needed for plain source and slow the start.
        execArgv: [],
        workerData: {
          memory: heap.memory,
          modules: modules.map((m) => m.module),
          names: modules.map((m) => m.names),
          ctrl,
        },
      });
    } catch {
      break;
    }
    worker.unref();
    // Errors surface as a missing ready count (start) or the failed flag (calls).
    worker.on('error', () => {});
    workers.push(worker);
  }
  // Wait until every worker counted itself ready; a worker that does not start is stopped.
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const ready = Atomics.load(state, READY);
    if (ready >= workers.length || Date.now() >= deadline) break;
    Atomics.wait(state, READY, ready, Math.max(1, deadline - Date.now()));
  }
  const ready = Math.min(Atomics.load(state, READY), workers.length);
  if (ready < workers.length) {
    // Which ones started cannot be told apart: keep none rather than count a dead one.
    Atomics.store(state, STOP, 1);
    for (const w of workers) void w.terminate();
    return [];
  }
  return workers;
}

/** Threads from EDGELOOP_TRAIN_THREADS, else min(cores, MAX_THREADS); 1 means no pool. */
export function defaultThreadCount(env: NodeJS.ProcessEnv = process.env): number {
  const asked = Number(env.EDGELOOP_TRAIN_THREADS);
  if (Number.isInteger(asked) && asked >= 1) return Math.min(asked, MAX_THREADS);
  return Math.max(1, Math.min(availableParallelism(), MAX_THREADS));
}

/** A pool of `threads - 1` workers on the heap's shared memory, or null where that cannot work. */
export function createThreadPool(heap: WasmHeap, modules: PoolModule[], threads: number): ThreadPool | null {
  if (threads < 2 || !heap.shared || typeof Atomics?.wait !== 'function') return null;
  const index = new Map<string, number>();
  const local = new Map<string, RawFn>();
  for (const m of modules) {
    for (const n of m.names) {
      index.set(n, index.size);
      local.set(n, m.raw[n]);
    }
  }
  const ctrl = new SharedArrayBuffer(CTRL_BYTES);
  const state = new Int32Array(ctrl, 0, STATE_INTS);
  const args = new Float64Array(ctrl, STATE_INTS * 4, MAX_ARGS * MAX_PARTS);
  const workers = startWorkers(heap, modules, ctrl, threads - 1);
  if (workers.length === 0) return null;
  let closed = false;

  /** One published batch of at most MAX_PARTS parts, claimed by whichever thread is free. */
  function runBatch(fn: RawFn, at: number, lists: number[][]): void {
    const parts = lists.length;
    state[FN] = at;
    for (let i = 0; i < parts; i++) args.set(lists[i], i * MAX_ARGS);
    Atomics.store(state, DONE, 0);
    Atomics.store(state, FAILED, 0);
    Atomics.store(state, NEXT, parts << 8);
    Atomics.add(state, SEQ, 1);
    Atomics.notify(state, SEQ);
    let error: unknown = null;
    for (;;) {
      const v = Atomics.load(state, NEXT);
      const i = v & 255;
      if (i >= parts) break;
      if (Atomics.compareExchange(state, NEXT, v, v + 1) !== v) continue;
      try {
        fn(...lists[i]);
      } catch (e) {
        // Workers may still run other parts: count this one and throw once they are done.
        error ??= e;
      }
      Atomics.add(state, DONE, 1);
    }
    for (;;) {
      const done = Atomics.load(state, DONE);
      if (done >= parts) break;
      Atomics.wait(state, DONE, done);
    }
    if (error != null) throw error;
  }

  return {
    get threads() {
      return closed ? 1 : workers.length + 1;
    },
    run(name, argLists) {
      const fn = local.get(name);
      const at = index.get(name);
      if (fn == null || at == null) throw new Error(`edgeloop thread pool: no export ${name}`);
      if (closed || argLists.length < 2) {
        for (const a of argLists) fn(...a);
        return;
      }
      let failed = false;
      for (let b = 0; b < argLists.length; b += MAX_PARTS) {
        runBatch(fn, at, argLists.slice(b, b + MAX_PARTS));
        failed ||= Atomics.load(state, FAILED) !== 0;
      }
      if (failed) throw new Error(`edgeloop thread pool: ${name} failed in a worker thread`);
    },
    close() {
      if (closed) return;
      closed = true;
      Atomics.store(state, STOP, 1);
      Atomics.add(state, SEQ, 1);
      Atomics.notify(state, SEQ);
      for (const w of workers) void w.terminate();
    },
  };
}
