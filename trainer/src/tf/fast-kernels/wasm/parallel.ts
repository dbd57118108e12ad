/**
 * The process's kernel thread pool (threads.ts) over the gemm and channel modules, and the helpers
 * kernels use to cut their work into parts that the threads share out. Parts are only cut when a
 * kernel is big enough that waking a worker (tens of microseconds) costs less than it saves.
 */
import { type ChannelPasses, createChannelPasses } from './channel-runtime.ts';
import { createGemm, type Gemm } from './gemm-runtime.ts';
import { createThreadPool, defaultThreadCount, type ThreadPool } from './threads.ts';

/** Exports a worker may run: they only read and write the memory ranges their arguments give. */
const GEMM_EXPORTS = ['gemm0', 'macList', 'gemm0List'];
const CHANNEL_EXPORTS = [
  'colSumList',
  'colSqDevList',
  'colGradSumsList',
  'bnApply',
  'bnGrad',
  'relu6',
  'relu6Grad',
  'adam',
  'bnApplyRelu6',
];

/** Work (multiply-adds or float passes) below which a kernel stays on one thread. */
export const MIN_PARALLEL_WORK = 1 << 16;
/** Parts per thread a big kernel is cut into at most. */
const PARTS_PER_THREAD = 4;

let pool: ThreadPool | null | undefined;
let wanted: number | undefined;
let minWork = MIN_PARALLEL_WORK;

function build(gm: Gemm, cp: ChannelPasses, threads: number): ThreadPool | null {
  return createThreadPool(
    gm.heapOf(),
    [
      { module: gm.module, raw: gm.raw, names: GEMM_EXPORTS },
      { module: cp.module, raw: cp.raw, names: CHANNEL_EXPORTS },
    ],
    threads,
  );
}

/**
 * Sets how many threads kernels use (the calling one included); 1 turns the pool off. The pool is
 * (re)started lazily by the next kernel that splits its work. `minParallelWork` (tests: 1, so even
 * tiny kernels split) is the work below which kernels stay on one thread.
 */
export function setKernelThreads(threads: number, minParallelWork = MIN_PARALLEL_WORK): void {
  const n = Math.max(1, Math.floor(threads));
  minWork = minParallelWork;
  if (n === wanted) return;
  pool?.close();
  pool = undefined;
  wanted = n;
}

/** The pool, started on first use; null when kernels run on one thread. */
export function kernelPool(): ThreadPool | null {
  if (pool === undefined) {
    const gm = createGemm();
    const cp = createChannelPasses();
    wanted ??= defaultThreadCount();
    pool = gm && cp ? build(gm, cp, wanted) : null;
  }
  return pool;
}

/**
 * Parts a kernel of `work` units is cut into: 1 below the minimum work or without a pool, else a
 * few per thread (each at least half the minimum work), so that threads share them out as each
 * becomes free and a thread that starts late or loses its core leaves less for the others to wait
 * for. Results never depend on the cut (parts are disjoint rows, images or fixed-size blocks).
 */
export function partsFor(work: number): number {
  if (work < minWork) return 1;
  const threads = kernelPool()?.threads ?? 1;
  if (threads < 2) return 1;
  return Math.max(threads, Math.min(threads * PARTS_PER_THREAD, Math.floor((2 * work) / minWork)));
}

/** Stops the workers (tests, explicit shutdown); the next big kernel starts them again. */
export function closeKernelThreads(): void {
  pool?.close();
  pool = undefined;
}

/** [start, end) ranges cutting 0..n into `parts` nearly equal pieces, inner cuts multiples of align. */
export function cut(n: number, parts: number, align = 1): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  for (let i = 1; i <= parts; i++) {
    const end = i === parts ? n : Math.min(n, Math.round((n * i) / parts / align) * align);
    if (end > start) out.push([start, end]);
    start = Math.max(start, end);
  }
  return out;
}

/** Runs export `name` with one argument list per part, shared out between threads when there is a pool. */
export function runParts(name: string, argLists: number[][], raw: Record<string, (...a: number[]) => void>) {
  const p = argLists.length > 1 ? kernelPool() : null;
  if (p != null) p.run(name, argLists);
  else for (const args of argLists) raw[name](...args);
}
