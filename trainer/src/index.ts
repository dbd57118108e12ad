export * from './data/dataset.ts';
export * from './data/synthetic-dataset.ts';
export { type EvaluationReport, evaluateClassifier } from './evaluate/evaluate-model.ts';
export { type Classifier, loadClassifier } from './evaluate/load-classifier.ts';
export { parseFreeze } from './model/split-model.ts';
export * from './output/model-dir.ts';
export * from './predict.ts';
export { importModel } from './publish/import-model.ts';
export * from './publish/publish.ts';
export { loadCalibrationImages } from './quantize/calibration-images.ts';
export { CALIBRATION_METHODS, type CalibrationMethod } from './quantize/calibration-stats.ts';
export { quantizeModel } from './quantize/quantize-model.ts';
export {
  FP32_MODEL_FILE,
  formatQuantization,
  type QuantizationMetrics,
  quantizeModelDir,
} from './quantize/quantize-model-dir.ts';
export { defaultRecipe, type Recipe, resolveRecipe } from './train/recipe.ts';
export { readRunState } from './train/run-state.ts';
export { formatSearch, parseBudget, SEARCH_CANDIDATES, searchRecipes } from './train/search.ts';
export * from './train/train.ts';
