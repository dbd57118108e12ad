/**
 * The demo's stand-in for a person labelling: every unlabelled sample gets the true class of the
 * synthetic scene it was captured from. In a real deployment people do this in the labelling queue.
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
    const agreed = sample.topK[0]?.label === label;
    await client.labelAction(
      sample.sampleId,
      agreed ? { action: 'confirm' } : { action: 'correct', label, newClass: true },
    );
    labelled++;
    if (agreed) agreedWithDevice++;
  }
  return { labelled, agreedWithDevice };
}
