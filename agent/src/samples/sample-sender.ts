/**
 * How one sample reaches the control plane. With presigned transfers (its object store is S3) the
 * device asks for an upload slot, PUTs the image straight to the bucket and commits; otherwise it
 * posts the image as before. Which one is the control plane's answer, never the agent's config: a
 * "control-plane" slot (or a control plane too old to know the route) is remembered for a while so
 * the embedded default costs no extra request per sample.
 */
import { ApiHttpError, PROTOCOL_VERSION, type SampleMetadata, sha256Hex } from '@edgeloop/shared';
import type { ControlPlaneClient, SampleUploadResponse } from '../comms/control-plane-client.ts';
import { ObjectStorageError } from '../comms/presigned-transfer.ts';

/** How long a "post it to me" answer holds before the agent asks again (a move to S3 shows up). */
export const VIA_CONTROL_PLANE_MS = 10 * 60_000;

export class SampleSender {
  private viaControlPlaneUntil = 0;

  constructor(
    private readonly client: ControlPlaneClient,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves once the control plane has stored and recorded the sample (or had it already). */
  async send(
    metadata: SampleMetadata,
    jpeg: Uint8Array,
    signal?: AbortSignal,
  ): Promise<SampleUploadResponse> {
    if (this.now() < this.viaControlPlaneUntil) return this.client.uploadSample(metadata, jpeg, signal);
    const sha256 = sha256Hex(jpeg);
    const request = {
      protocol: PROTOCOL_VERSION,
      idempotencyKey: metadata.idempotencyKey,
      bytes: jpeg.byteLength,
      sha256,
      contentType: 'image/jpeg' as const,
    };
    for (let attempt = 0; ; attempt++) {
      const slot = await this.client.requestSampleUpload(request, signal).catch((err: unknown) => {
        // A control plane from before presigned transfers: post, as it expects.
        if (err instanceof ApiHttpError && err.httpStatus === 404) return null;
        throw err;
      });
      if (slot === null || slot.transfer === 'control-plane') {
        this.viaControlPlaneUntil = this.now() + VIA_CONTROL_PLANE_MS;
        return this.client.uploadSample(metadata, jpeg, signal);
      }
      try {
        await this.client.putSampleObject(slot, jpeg, signal);
      } catch (err) {
        // 403 is what an expired URL gets (a slow link, a skewed clock): ask for a fresh one once.
        if (err instanceof ObjectStorageError && err.httpStatus === 403 && attempt === 0) continue;
        throw err;
      }
      return this.client.commitSampleUpload(
        { protocol: PROTOCOL_VERSION, metadata, bytes: jpeg.byteLength, sha256 },
        signal,
      );
    }
  }
}
