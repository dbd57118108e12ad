/** The demo's knobs. Defaults are sized so the whole loop ends within 5 minutes on 2 cores. */
export interface DemoOptions {
  workDir: string;
  devices: number;
  /** Studio images per class in the starting dataset. */
  imagesPerClass: number;
  /** Camera conditions are harder than the studio dataset: that gap is what the loop closes. */
  datasetDifficulty: number;
  cameraDifficulty: number;
  cameraFps: number;
  inputSize: number;
  epochs: number;
  /** Epochs of v2, which continues from v1's weights. */
  retrainEpochs: number;
  learningRate: number;
  lowConfidenceThreshold: number;
  /** Collect at least this many samples before labelling (or until collectTimeoutSec). */
  minSamples: number;
  collectTimeoutSec: number;
  /** Seconds of predictions per version used to measure field accuracy. */
  measureSec: number;
  /** Soak of the canary wave: the gates compare its confidence with the previous version's. */
  canarySoakSec: number;
  /**
   * The promotion rule's per-class tolerance: how far a class's recall on the fixed set may drop
   * for v2 to be promoted anyway. With 25 validation images per class one image moves recall 4%.
   */
  classTolerance: number;
  /** Longest a pipeline run (and each of its steps) may take. */
  pipelineTimeoutSec: number;
  seed: number;
  keepRunning: boolean;
}

export const DEFAULT_DEMO_OPTIONS: Omit<DemoOptions, 'workDir'> = {
  devices: 3,
  imagesPerClass: 100,
  datasetDifficulty: 0.15,
  cameraDifficulty: 0.6,
  cameraFps: 4,
  inputSize: 32,
  epochs: 12,
  retrainEpochs: 5,
  learningRate: 0.01,
  lowConfidenceThreshold: 0.75,
  minSamples: 40,
  collectTimeoutSec: 40,
  measureSec: 8,
  canarySoakSec: 6,
  classTolerance: 0.1,
  pipelineTimeoutSec: 300,
  seed: 11,
  keepRunning: false,
};

export interface DemoVersionSummary {
  version: number;
  devicesActive: number;
  valAccuracy: number;
  onnxValAccuracy: number;
  /** The int8 model the devices run, on the same validation images, and its top-1 agreement with fp32. */
  int8ValAccuracy: number;
  int8Agreement: number;
  /** The staged rollout that put this version on the fleet: canary first, then everyone. */
  rolloutId: string;
  canaryDevice: string;
  /** The pipeline run that made this version, and the dataset version it trained on. */
  pipelineRun: string;
  datasetVersion: string;
  /** Top-1 accuracy of the devices' live predictions on camera frames, while this version ran. */
  fieldAccuracy: number | null;
  fieldPredictions: number;
  trainImages: number;
  /** Field samples in the training split of its dataset version. */
  fieldSamplesUsed: number;
  /** Field samples in its dataset version: trained on, or held out as the field-hard set. */
  fieldSamplesInDatasetVersion: number;
  trainSeconds: number;
}

export interface DemoSummary {
  versions: DemoVersionSummary[];
  samplesReported: number;
  samplesLabelled: number;
  /** Field samples in the dataset version that trained v2, as the pipeline recorded it. */
  samplesUsedInRetraining: number;
  devices: string[];
  controlPlaneUrl: string;
  mqttUrl: string;
  seconds: number;
}
