/** Options several model commands share, declared once so their help and parsing agree. */
import type { OptionDefs } from './option-types.ts';

/** What a foreign ONNX classifier may lack in its own metadata (evaluate, quantize). */
export const MODEL_METADATA_OPTIONS = {
  labels: {
    type: 'string',
    value: 'FILE',
    description: 'JSON array of class names (when the model carries none)',
  },
  'input-spec': {
    type: 'string',
    value: 'JSON',
    description: 'input spec as JSON text or file (float models without one in their metadata)',
  },
} as const satisfies OptionDefs;

/** An explicit version request at publish; the control plane picks the next free one otherwise. */
export const MODEL_VERSION_OPTION = {
  'model-version': {
    type: 'number',
    value: 'N',
    integer: true,
    min: 1,
    description: 'version to publish',
    defaultText: 'the next free one',
  },
} as const satisfies OptionDefs;
