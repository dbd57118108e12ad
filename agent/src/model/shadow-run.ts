/**
 * Shadow mode: a verified candidate classifies the same new camera frames as the active model,
 * without serving them, and the share of frames where both pick the same top-1 label is reported
 * before the switch. Labels are compared by name, so a candidate with reordered labels still counts.
 */
import type { Frame } from '../camera/camera.ts';
import type { ImageCodec } from '../image/image-codec.ts';
import { classify } from '../inference/postprocess.ts';
import { preprocessFrame } from '../inference/preprocess.ts';
import type { ActiveModel, LoadedModel } from './active-model.ts';

export interface ShadowAgreement {
  frames: number;
  rate: number;
}

async function topLabel(model: LoadedModel, frame: Frame, codec: ImageCodec): Promise<string> {
  const input = await preprocessFrame(frame.image, model.manifest.input, codec);
  const output = await model.session.run(input);
  return classify(output, model.manifest.output, model.manifest.labels, 1)[0].label;
}

/** Null when there was nothing to compare (no active model, or no frames arrived in time). */
export async function shadowAgreement(
  candidate: LoadedModel,
  active: ActiveModel,
  frames: readonly Frame[],
  codec: ImageCodec,
): Promise<ShadowAgreement | null> {
  let compared = 0;
  let agreed = 0;
  for (const frame of frames) {
    const pair = await active.use(async (current) => {
      try {
        return [await topLabel(current, frame, codec), await topLabel(candidate, frame, codec)] as const;
      } catch {
        return null; // a frame that does not decode says nothing about either model
      }
    });
    if (!pair) continue;
    compared++;
    if (pair[0] === pair[1]) agreed++;
  }
  return compared === 0 ? null : { frames: compared, rate: agreed / compared };
}
