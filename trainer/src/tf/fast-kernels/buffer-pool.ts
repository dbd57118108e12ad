/**
 * Reuses the output arrays of our kernels once tfjs has really let go of them. tfjs's `cpu`
 * backend gives every op a fresh array; a MobileNetV2 training step allocates hundreds of MB that
 * way, and the zeroing, page faults and garbage collections of those allocations cost about as
 * much as the batch-norm arithmetic. Here `takeArray` hands out a float32 array (recycled when one
 * of that length is free), and hooks on the backend instance decide when an array is free again:
 *
 * - only arrays handed out by `takeArray` are ever recycled;
 * - an array is recycled when the backend deletes the one data bucket that holds it;
 * - an array is never recycled (it is "exposed") once anything else could still see it: read
 *   through readSync / read / bufferSync (dataSync, data(), arraySync, print), written into a
 *   second bucket, or shared as a view (a stock contiguous Slice returns a subarray).
 *
 * So a recycled array is one that only the backend's own map ever referenced, and that reference is
 * gone. Limits: POOL_BYTES of free arrays at most; the hooks live on the backend class and are
 * removed by `uninstallBufferPool`.
 *
 * When the WebAssembly heap is shared (wasm/heap.ts), new arrays are views into it: the SIMD kernels
 * then read and write tensors in place. Recycled views wait in the pool like other arrays (past
 * POOL_BYTES their blocks go back to the heap). All such views share one buffer, so a view made
 * from one of them (a subarray) is traced back to its block by address. A view that is read moves
 * out of the heap into an ordinary array first; a view exposed otherwise (stored twice, shared as a
 * subarray) keeps its block for the life of the process.
 */
import { type WasmHeap, wasmHeap } from './wasm/heap.ts';

const POOL_BYTES = 256 * 1024 * 1024;
/** Small arrays are cheap to allocate; pooling them would only cost bookkeeping. */
const MIN_LENGTH = 4096;

type State = 'out' | 'live' | 'exposed';

interface DataBucket {
  values?: unknown;
}
interface CpuBackendLike {
  data: { get(id: object): DataBucket | undefined; has(id: object): boolean };
  write(values: unknown, shape: number[], dtype: string): object;
  readSync(id: object): unknown;
  move(id: object, values: unknown, shape: number[], dtype: string, refCount: number): void;
  disposeData(id: object, force?: boolean): boolean;
  edgeloopPoolHooks?: Record<string, unknown>;
}

let owned = new WeakMap<Float32Array, State>();
let ownerOf = new WeakMap<ArrayBufferLike, Float32Array>();
/** Heap views handed out and not exposed: the candidates when a derived view turns up. */
let heapViews = new Set<Float32Array>();

function heapOwnerOf(values: Float32Array): Float32Array | undefined {
  const at = values.byteOffset;
  for (const v of heapViews) if (at >= v.byteOffset && at < v.byteOffset + v.byteLength) return v;
  return undefined;
}

function markExposed(owner: Float32Array): void {
  owned.set(owner, 'exposed');
  heapViews.delete(owner);
}
const free = new Map<number, Float32Array[]>();
let freeBytes = 0;
let installed = false;

/** The array `values` belongs to, when it is (or is a view of) one that takeArray handed out. */
function ownerOfValues(values: Float32Array): Float32Array | undefined {
  if (owned.has(values)) return values;
  const owner = ownerOf.get(values.buffer);
  if (owner != null) return owner;
  return wasmHeap()?.contains(values) ? heapOwnerOf(values) : undefined;
}

function expose(values: unknown): void {
  if (!(values instanceof Float32Array)) return;
  const owner = ownerOfValues(values);
  if (owner != null) markExposed(owner);
}

/**
 * A float32 array of length n with undefined contents unless `zero`. Recycled when the pool is
 * installed and a free one of that length exists.
 */
export function takeArray(n: number, zero = false): Float32Array {
  if (!installed || n < MIN_LENGTH) return new Float32Array(n);
  const list = free.get(n);
  let a = list?.pop();
  const heap = wasmHeap();
  if (a != null) {
    freeBytes -= a.byteLength;
    if (zero) a.fill(0);
  } else a = (heap?.shared ? heapArray(heap, n, zero) : undefined) ?? new Float32Array(n);
  owned.set(a, 'out');
  if (heap?.contains(a)) heapViews.add(a);
  else ownerOf.set(a.buffer, a);
  return a;
}

function heapArray(heap: WasmHeap, n: number, zero: boolean): Float32Array | undefined {
  const off = heap.alloc(n, true);
  if (off < 0) return undefined;
  if (zero) heap.zero(off, n);
  return heap.view(off, n);
}

function recycle(a: Float32Array): void {
  owned.delete(a);
  const inHeap = heapViews.delete(a);
  if (freeBytes + a.byteLength > POOL_BYTES) {
    // A heap block must go back to the heap; an ordinary array to the garbage collector.
    if (inHeap) wasmHeap()?.free(a.byteOffset >> 2, a.length);
    return;
  }
  const list = free.get(a.length) ?? [];
  list.push(a);
  free.set(a.length, list);
  freeBytes += a.byteLength;
}

/**
 * Hooks the backend class (the prototype of the given instance, so every instance the engine
 * creates for 'cpu' is covered) so that it returns our arrays to the pool. Idempotent.
 */
export function installBufferPool(backend: unknown): void {
  const proto = backend == null ? null : (Object.getPrototypeOf(backend) as CpuBackendLike | null);
  if (proto == null || typeof proto.disposeData !== 'function' || typeof proto.write !== 'function') return;
  if (!Object.hasOwn(proto, 'edgeloopPoolHooks')) {
    const stock = {
      write: proto.write,
      readSync: proto.readSync,
      move: proto.move,
      disposeData: proto.disposeData,
    };
    proto.edgeloopPoolHooks = stock;
    proto.write = function (values, shape, dtype) {
      if (values instanceof Float32Array) {
        const owner = ownerOfValues(values);
        if (owner === values && owned.get(owner) === 'out') owned.set(owner, 'live');
        else if (owner != null) markExposed(owner);
      }
      return stock.write.call(this, values, shape, dtype);
    };
    proto.readSync = function (id) {
      const bucket = this.data.get(id);
      const values = bucket?.values;
      if (
        bucket != null &&
        values instanceof Float32Array &&
        heapViews.has(values) &&
        owned.get(values) === 'live'
      ) {
        // A heap tensor that is read leaves the heap: the bucket (and so the reader) gets an ordinary
        // copy, and the block is recycled once the running synchronous code (maybe a stock kernel
        // still holding the view) is done. Otherwise reads of big tensors would pin heap blocks.
        bucket.values = new Float32Array(values);
        owned.set(values, 'out');
        queueMicrotask(() => {
          if (owned.get(values) === 'out') recycle(values);
        });
      } else expose(values);
      return stock.readSync.call(this, id);
    };
    proto.move = function (id, values, shape, dtype, refCount) {
      expose(values);
      return stock.move.call(this, id, values, shape, dtype, refCount);
    };
    proto.disposeData = function (id, force) {
      const values = this.data.get(id)?.values;
      const released = stock.disposeData.call(this, id, force);
      if (values instanceof Float32Array && owned.get(values) === 'live' && !this.data.has(id))
        recycle(values);
      return released;
    };
  }
  installed = true;
}

/** Removes the hooks and drops the pool. Idempotent. */
export function uninstallBufferPool(backend: unknown): void {
  const proto = backend == null ? null : (Object.getPrototypeOf(backend) as CpuBackendLike | null);
  if (proto != null && Object.hasOwn(proto, 'edgeloopPoolHooks')) {
    Object.assign(proto, proto.edgeloopPoolHooks);
    delete proto.edgeloopPoolHooks;
  }
  installed = false;
  const heap = wasmHeap();
  for (const list of free.values()) {
    for (const a of list) if (heap?.contains(a)) heap.free(a.byteOffset >> 2, a.length);
  }
  free.clear();
  freeBytes = 0;
  owned = new WeakMap();
  ownerOf = new WeakMap();
  // Views still held by tensors stay valid; their blocks are simply not reused.
  heapViews = new Set();
}
