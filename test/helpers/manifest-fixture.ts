/**
 * One valid numbered manifest, not yet signed, for tests; each test overrides only what it is
 * about. (An upload may leave the number out; signing needs one.)
 */
import { type Manifest, PROTOCOL_VERSION, sha256Hex } from '@edgeloop/shared';

export function testManifest(model: Uint8Array, overrides: Partial<Manifest> = {}, inputSize = 32): Manifest {
  return {
    protocol: PROTOCOL_VERSION,
    name: 'test-model',
    modelVersion: 1,
    createdAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    rollback: false,
    architecture: { family: 'tiny-test', quantization: 'fp32' },
    labels: ['red', 'blue'],
    input: {
      name: 'input',
      dtype: 'uint8',
      layout: 'NHWC',
      width: inputSize,
      height: inputSize,
      channels: 3,
      colorOrder: 'RGB',
      normalization: { kind: 'none' },
    },
    output: { name: 'probabilities', kind: 'probabilities' },
    files: [{ name: 'model.onnx', role: 'model', sha256: sha256Hex(model), bytes: model.byteLength }],
    ...overrides,
  };
}
