/**
 * The demo's stand-in for a person in the labelling queue: every unlabelled sample gets the true
 * class of the synthetic scene it was captured from, through the same labelling actions the
 * dashboard uses — confirm when the device's own guess was right, correct it otherwise.
 */
import { type LoopApiClient, syntheticFrameLabel } from '@edgeloop/shared';

export async function autoLabel(
  client: LoopApiClient,
): Promise<{ labelled: number; agreedWithDevice: number }> {
  const samples = await client.allSamples({ labelled: false });
  let labelled = 0;
  let agreedWithDevice = 0;
  for (const sample of samples) {
    const label = syntheticFrameLabel(sample.frameId);
    if (label === null) continue;
    if (sample.topK[0]?.label === label) {
      await client.labelAction(sample.sampleId, { action: 'confirm' });
      agreedWithDevice++;
    } else {
      await client.labelAction(sample.sampleId, { action: 'correct', label });
    }
    labelled++;
  }
  return { labelled, agreedWithDevice };
}
