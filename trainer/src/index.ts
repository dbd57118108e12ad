export * from './cli.ts';
export * from './data/dataset.ts';
export * from './data/synthetic-dataset.ts';
export { evaluateCommand } from './evaluate/evaluate-command.ts';
export * from './output/model-dir.ts';
export * from './predict.ts';
export { importModelCommand } from './publish/import-model-command.ts';
export * from './publish/publish.ts';
export { quantizeCommand } from './quantize/quantize-command.ts';
export {
  formatQuantization,
  type QuantizationMetrics,
  quantizeModelDir,
} from './quantize/quantize-model-dir.ts';
export * from './train/train.ts';
