export type { FastKernelSpec, TfLike } from './kernel-util.ts';
export {
  fastCpuKernelNames,
  registerFastCpuKernels,
  restoreStockCpuKernels,
  stockCpuKernel,
} from './register.ts';
