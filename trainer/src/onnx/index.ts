export { OnnxExportError, UnsupportedLayerError } from './errors.ts';
export {
  exportToOnnx,
  ONNX_FEATURES_NAME,
  ONNX_INPUT_NAME,
  ONNX_IR_VERSION,
  ONNX_OPSET,
  ONNX_OUTPUT_NAME,
  type OnnxExportOptions,
} from './export-onnx.ts';
