/** A Keras/tfjs layer (or a configuration of one) that the ONNX exporter cannot translate. */
export class UnsupportedLayerError extends Error {
  readonly code = 'UNSUPPORTED_LAYER';
  constructor(
    readonly layerName: string,
    readonly layerClass: string,
    detail?: string,
  ) {
    super(`cannot export layer "${layerName}" (${layerClass}) to ONNX${detail ? `: ${detail}` : ''}`);
    this.name = 'UnsupportedLayerError';
  }
}

/** The model as a whole does not fit the export contract (inputs, outputs, options). */
export class OnnxExportError extends Error {
  readonly code = 'ONNX_EXPORT_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'OnnxExportError';
  }
}
