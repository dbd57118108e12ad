// Plain (zod-free) description of a MobileNet classifier the trainer can build and export.

export type MobileNetArchitecture = 'mobilenet_v1' | 'mobilenet_v2';
export type MobileNetAlpha = 0.25 | 0.35 | 0.5 | 0.75 | 1.0;

export type ModelSpec = {
  architecture: MobileNetArchitecture;
  /** Width multiplier applied to every layer's channel count. */
  alpha: MobileNetAlpha;
  /** Square input side in pixels; a multiple of 32 because the backbone downsamples 32x. */
  inputSize: number;
  numClasses: number;
  /** Dropout rate before the classifier, in [0, 1). */
  dropout: number;
  /** Optional extra Dense(relu) layer between pooling and the classifier. */
  hiddenUnits?: number;
  /**
   * Moving-average momentum of every BatchNormalization layer. Keras uses 0.99 (V1) / 0.999 (V2),
   * which needs thousands of steps before inference-mode statistics are usable; short trainings
   * pass a lower value.
   */
  batchNormMomentum?: number;
};

export const SUPPORTED_ARCHITECTURES: readonly MobileNetArchitecture[] = ['mobilenet_v1', 'mobilenet_v2'];
export const SUPPORTED_ALPHAS: readonly MobileNetAlpha[] = [0.25, 0.35, 0.5, 0.75, 1.0];

export class InvalidModelSpecError extends Error {
  readonly code = 'INVALID_MODEL_SPEC';
  constructor(message: string) {
    super(`invalid model spec: ${message}`);
    this.name = 'InvalidModelSpecError';
  }
}

function isPositiveInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

/** Throws InvalidModelSpecError naming the first unsupported value; returns the spec unchanged. */
export function validateModelSpec(spec: ModelSpec): ModelSpec {
  if (!SUPPORTED_ARCHITECTURES.includes(spec.architecture)) {
    throw new InvalidModelSpecError(
      `architecture ${JSON.stringify(spec.architecture)} is not one of ${SUPPORTED_ARCHITECTURES.join(', ')}`,
    );
  }
  if (!SUPPORTED_ALPHAS.includes(spec.alpha)) {
    throw new InvalidModelSpecError(`alpha ${spec.alpha} is not one of ${SUPPORTED_ALPHAS.join(', ')}`);
  }
  if (!isPositiveInteger(spec.inputSize) || spec.inputSize < 32 || spec.inputSize % 32 !== 0) {
    throw new InvalidModelSpecError(
      `inputSize ${spec.inputSize} must be an integer multiple of 32 and >= 32`,
    );
  }
  if (!isPositiveInteger(spec.numClasses) || spec.numClasses < 2) {
    throw new InvalidModelSpecError(`numClasses ${spec.numClasses} must be an integer >= 2`);
  }
  if (typeof spec.dropout !== 'number' || !(spec.dropout >= 0 && spec.dropout < 1)) {
    throw new InvalidModelSpecError(`dropout ${spec.dropout} must be in [0, 1)`);
  }
  if (spec.hiddenUnits !== undefined && !isPositiveInteger(spec.hiddenUnits)) {
    throw new InvalidModelSpecError(`hiddenUnits ${spec.hiddenUnits} must be a positive integer when set`);
  }
  return spec;
}
