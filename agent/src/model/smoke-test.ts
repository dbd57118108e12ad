/**
 * The check a candidate model passes before it may serve: it runs on a blank frame and on the
 * camera's most recent frames, and every output must be a proper probability distribution over
 * the manifest's labels (finite, in [0, 1], summing to 1). A model that loads but emits NaN, the
 * wrong number of classes, or raw scores declared as probabilities never becomes active.
 */
import { EdgeloopError, type Manifest } from '@edgeloop/shared';
import type { Frame } from '../camera/camera.ts';
import type { ImageCodec } from '../image/image-codec.ts';
import type { ModelSession, TensorInput } from '../inference/inference-backend.ts';
import { softmax } from '../inference/postprocess.ts';
import { blankInput, preprocessFrame } from '../inference/preprocess.ts';

const SUM_TOLERANCE = 1e-3;

function fail(message: string): never {
  throw new EdgeloopError('MODEL_INVALID', `smoke test failed: ${message}`);
}

/** Throws MODEL_INVALID unless `output` is a distribution over `labels`. */
export function checkDistribution(output: Float32Array, manifest: Manifest, what: string): void {
  if (output.length !== manifest.labels.length) {
    fail(`${what}: ${output.length} scores for ${manifest.labels.length} labels`);
  }
  for (const v of output) if (!Number.isFinite(v)) fail(`${what}: non-finite score ${v}`);
  const probabilities = manifest.output.kind === 'logits' ? softmax(output) : output;
  let sum = 0;
  for (const p of probabilities) {
    if (p < -SUM_TOLERANCE || p > 1 + SUM_TOLERANCE) fail(`${what}: probability ${p} outside [0, 1]`);
    sum += p;
  }
  if (Math.abs(sum - 1) > SUM_TOLERANCE) fail(`${what}: probabilities sum to ${sum.toFixed(4)}, not 1`);
}

export interface SmokeTestInput {
  frames: readonly Frame[];
  codec: ImageCodec;
}

/** Runs the session on a blank frame and the recent frames; returns how many inputs were checked. */
export async function smokeTest(
  session: ModelSession,
  manifest: Manifest,
  input: SmokeTestInput | null,
): Promise<number> {
  const inputs: { what: string; tensor: TensorInput }[] = [
    { what: 'blank frame', tensor: blankInput(manifest.input) },
  ];
  for (const frame of input?.frames ?? []) {
    try {
      const tensor = await preprocessFrame(frame.image, manifest.input, input!.codec);
      inputs.push({ what: `frame ${frame.frameId}`, tensor });
    } catch {
      // A frame that does not decode says nothing about the model; it is skipped.
    }
  }
  for (const { what, tensor } of inputs) checkDistribution(await session.run(tensor), manifest, what);
  return inputs.length;
}
