import type * as tf from '@tensorflow/tfjs';
import { type ModelSpec, validateModelSpec } from './mobilenet-spec.ts';
import { buildMobileNetV1 } from './mobilenet-v1.ts';
import { buildMobileNetV2 } from './mobilenet-v2.ts';

/** Builds an untrained MobileNet classifier with Keras layer names; throws InvalidModelSpecError. */
export function buildMobileNet(spec: ModelSpec): tf.LayersModel {
  validateModelSpec(spec);
  const model = spec.architecture === 'mobilenet_v1' ? buildMobileNetV1(spec) : buildMobileNetV2(spec);
  if (spec.batchNormMomentum !== undefined) setBatchNormMomentum(model, spec.batchNormMomentum);
  return model;
}

/** Sets every BatchNormalization layer's moving-average momentum (see ModelSpec.batchNormMomentum). */
export function setBatchNormMomentum(model: tf.LayersModel, momentum: number): void {
  // tfjs reads `momentum` on every training call; it has no public setter.
  for (const layer of model.layers) {
    if (layer.getClassName() === 'BatchNormalization')
      (layer as unknown as { momentum: number }).momentum = momentum;
  }
}
