/**
 * A persistent pool of worker threads that run parts of the SIMD kernels on the shared heap
 * (heap.ts). Each worker instantiates the gemm and channel modules on the same shared memory, then
 * sleeps in Atomics.wait on its control block; a kernel writes one call (export index + numeric
 * arguments) per worker, wakes them, runs its own part on the calling thread, and then, per worker,
 * either takes the part back (the worker has not claimed it yet: on a busy machine it may not get a
 * core for milliseconds) or waits until the worker stores its sequence number back. No messages, no copies: parts touch disjoint output
 * ranges of memory all threads see. A worker is only ever handed calls of exports that cannot throw
 * on valid addresses; a failed call still reports back (as a negated sequence number) so the
 * caller throws instead of waiting forever.
 *
 * Workers are unref'd (they never keep the process alive) and run plain JavaScript given as source
 * (no loader, so they start the same under tsx, vitest forks or plain node). Without
 * SharedArrayBuffer, with EDGELOOP_TRAIN_THREADS=1, or when a worker does not start, there is no
 * pool and kernels run whole on the calling thread.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { WasmHeap } from './heap.ts';

/** Worker threads at most, besides the calling thread. */
const MAX_THREADS = 4;
const MAX_ARGS = 12;
/**
 * Control block: int32 [seq, done, fn, ready, claim, pad] then MAX_ARGS float64 arguments. `claim`
 * is 0 while a part waits, 1 once the worker took it, 2 once the calling thread took it back.
 */
const [SEQ, DONE, FN, READY, CLAIM] = [0, 1, 2, 3, 4];
const STATE_INTS = 6;
const CTRL_BYTES = STATE_INTS * 4 + 8 * MAX_ARGS;
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
const a = new Float64Array(ctrl, ${STATE_INTS * 4}, ${MAX_ARGS});
Atomics.store(state, ${READY}, 1);
Atomics.notify(state, ${READY});
let seen = 0;
for (;;) {
  Atomics.wait(state, ${SEQ}, seen);
  seen = Atomics.load(state, ${SEQ});
  if (state[${FN}] < 0) break;
  // The caller may have run this part itself meanwhile; only a successful claim may touch memory.
  if (Atomics.compareExchange(state, ${CLAIM}, 0, 1) !== 0) continue;
  const seq = Atomics.load(state, ${SEQ});
  seen = seq;
  let status = seq;
  try {
    fns[state[${FN}]](a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11]);
  } catch {
    status = -seq;
  }
  Atomics.store(state, ${DONE}, status);
  Atomics.notify(state, ${DONE});
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
   * Calls export `name` once per argument list: list 0 on the calling thread, list i on worker
   * i-1, all at once; returns when all are done. At most `threads` lists.
   */
  run(name: string, argLists: number[][]): void;
  /** Stops the workers; later runs execute every list on the calling thread. */
  close(): void;
}

interface Slot {
  worker: Worker;
  state: Int32Array;
  args: Float64Array;
  seq: number;
  /** The arguments of the part last handed to this worker. */
  part: number[];
}

function startSlot(heap: WasmHeap, modules: PoolModule[]): Slot | null {
  const ctrl = new SharedArrayBuffer(CTRL_BYTES);
  const state = new Int32Array(ctrl, 0, STATE_INTS);
  const worker = new Worker(WORKER_SOURCE, {
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
  worker.unref();
  // Errors surface as a missing ready flag (start) or a negated sequence number (calls).
  worker.on('error', () => {});
  if (Atomics.wait(state, READY, 0, START_TIMEOUT_MS) === 'timed-out' && Atomics.load(state, READY) !== 1) {
    void worker.terminate();
    return null;
  }
  Atomics.store(state, CLAIM, 2);
  return { worker, state, args: new Float64Array(ctrl, STATE_INTS * 4, MAX_ARGS), seq: 0, part: [] };
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
  const slots: Slot[] = [];
  for (let i = 1; i < threads; i++) {
    let slot: Slot | null = null;
    try {
      slot = startSlot(heap, modules);
    } catch {
      slot = null;
    }
    if (slot == null) break;
    slots.push(slot);
  }
  if (slots.length === 0) return null;
  let closed = false;
  return {
    get threads() {
      return closed ? 1 : slots.length + 1;
    },
    run(name, argLists) {
      const fn = local.get(name);
      const at = index.get(name);
      if (fn == null || at == null) throw new Error(`edgeloop thread pool: no export ${name}`);
      const sent: Slot[] = [];
      for (let i = 1; i < argLists.length; i++) {
        const slot = closed ? undefined : slots[i - 1];
        if (slot == null) {
          fn(...argLists[i]);
          continue;
        }
        slot.args.fill(0);
        slot.args.set(argLists[i]);
        slot.part = argLists[i];
        slot.state[FN] = at;
        slot.seq += 1;
        // seq before claim: a worker that claims this part reads this sequence number.
        Atomics.store(slot.state, SEQ, slot.seq);
        Atomics.store(slot.state, CLAIM, 0);
        Atomics.notify(slot.state, SEQ);
        sent.push(slot);
      }
      if (argLists.length > 0) fn(...argLists[0]);
      let failed = false;
      for (const slot of sent) {
        // A worker that has not started yet (busy machine, the other core taken) loses its part to
        // this thread instead of being waited for.
        if (Atomics.compareExchange(slot.state, CLAIM, 0, 2) === 0) {
          fn(...slot.part);
          continue;
        }
        for (;;) {
          const done = Atomics.load(slot.state, DONE);
          if (done === slot.seq) break;
          if (done === -slot.seq) {
            failed = true;
            break;
          }
          Atomics.wait(slot.state, DONE, done);
        }
      }
      if (failed) throw new Error(`edgeloop thread pool: ${name} failed in a worker thread`);
    },
    close() {
      if (closed) return;
      closed = true;
      for (const slot of slots) {
        slot.state[FN] = -1;
        Atomics.store(slot.state, SEQ, slot.seq + 1);
        Atomics.notify(slot.state, SEQ);
        void slot.worker.terminate();
      }
    },
  };
}
