import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from './mobilenet-spec.ts';

/**
 * GlobalAveragePooling2D -> Dropout -> [Dense(hiddenUnits, relu)] -> Dense(numClasses, softmax).
 * The last layer is named `predictions` as in keras.applications, so head weights load by name.
 */
export function classifierHead(features: tf.SymbolicTensor, spec: ModelSpec): tf.SymbolicTensor {
  let x = applyLayer(tf.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }), features);
  x = applyLayer(tf.layers.dropout({ rate: spec.dropout, name: 'dropout' }), x);
  if (spec.hiddenUnits !== undefined) {
    x = applyLayer(tf.layers.dense({ units: spec.hiddenUnits, activation: 'relu', name: 'hidden' }), x);
  }
  return applyLayer(
    tf.layers.dense({ units: spec.numClasses, activation: 'softmax', name: 'predictions' }),
    x,
  );
}

/** Float32 NHWC input, pixels already scaled to [-1, 1]. */
export function imageInput(spec: ModelSpec): tf.SymbolicTensor {
  return tf.input({ shape: [spec.inputSize, spec.inputSize, 3], dtype: 'float32', name: 'input_1' });
}

/** Layer.apply is typed for eager tensors too; on a symbolic tensor it always returns one. */
export function applyLayer(
  layer: tf.layers.Layer,
  x: tf.SymbolicTensor | tf.SymbolicTensor[],
): tf.SymbolicTensor {
  return layer.apply(x) as tf.SymbolicTensor;
}
