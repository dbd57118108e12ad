export * from './cli.ts';
export * from './data/dataset.ts';
export * from './data/synthetic-dataset.ts';
export * from './output/model-dir.ts';
export * from './predict.ts';
export * from './publish/publish.ts';
export * from './train/train.ts';
