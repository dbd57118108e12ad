export { buildMobileNet, setBatchNormMomentum } from './build-mobilenet.ts';
export { applyLayer, classifierHead, imageInput } from './classifier-head.ts';
export {
  InvalidModelSpecError,
  type MobileNetAlpha,
  type MobileNetArchitecture,
  type ModelSpec,
  SUPPORTED_ALPHAS,
  SUPPORTED_ARCHITECTURES,
  validateModelSpec,
} from './mobilenet-spec.ts';
export { buildMobileNetV1 } from './mobilenet-v1.ts';
export { buildMobileNetV2, makeDivisible } from './mobilenet-v2.ts';
