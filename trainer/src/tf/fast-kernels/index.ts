export type { FastKernelSpec, TfLike } from './kernel-util.ts';
export {
  fastCpuKernelNames,
  kernelThreads,
  registerFastCpuKernels,
  restoreStockCpuKernels,
  stockCpuKernel,
} from './register.ts';
