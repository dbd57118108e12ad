/**
 * The demo control plane's retraining pipeline: one candidate, the trainer run through the
 * `edgeloop` launcher, v2 continuing from v1, and a staged rollout of every promoted version.
 */
import { resolve } from 'node:path';
import { type PipelineConfig, PipelineConfigSchema } from '@edgeloop/shared';
import type { DemoOptions } from './demo-options.ts';

/** The `edgeloop` launcher: the pipeline runs `train` and `predict` through it as child processes. */
const EDGELOOP_CLI = resolve(import.meta.dirname, '../edgeloop.mjs');
export const CANDIDATE = 'mnv1-a025';

/** Which pipeline candidate the demo trains, and how v2 continues from v1. */
export function pipelineConfig(options: DemoOptions): PipelineConfig {
  const args = [
    '--architecture',
    'mobilenet_v1',
    '--alpha',
    '0.25',
    '--input-size',
    String(options.inputSize),
    '--epochs',
    String(options.epochs),
    '--batch-size',
    '16',
    '--learning-rate',
    String(options.learningRate),
    '--dropout',
    '0.1',
    '--patience',
    '4',
    '--seed',
    String(options.seed + 1),
    // At 32 px and a dozen epochs augmentation costs more than it teaches: it stays off here.
    '--augment',
    'off',
  ];
  return PipelineConfigSchema.parse({
    trainCommand: [process.execPath, EDGELOOP_CLI, 'train'],
    predictCommand: [process.execPath, EDGELOOP_CLI, 'predict'],
    // Retraining continues from the production version's weights: fewer epochs, gentler steps.
    candidates: [
      {
        name: CANDIDATE,
        args,
        fromParentArgs: [
          '--epochs',
          String(options.retrainEpochs),
          '--learning-rate',
          String(options.learningRate / 3),
          '--seed',
          String(options.seed + 2),
        ],
      },
    ],
    retries: 0,
    stepTimeoutSec: options.pipelineTimeoutSec,
    // A promoted candidate goes to the whole fleet in stages: one canary, a soak while the health
    // gates compare its field confidence with the previous version's, then everyone else.
    canary: {
      target: { all: true },
      strategy: {
        waves: [{ devices: 1 }, { percent: 100 }],
        soakSeconds: options.canarySoakSec,
        deviceTimeoutSeconds: 120,
        gates: { minPredictions: 10, onFailure: 'abort' },
      },
    },
  });
}
