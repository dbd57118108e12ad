/**
 * Drains the sample queue, most uncertain first. An entry is deleted only once the control plane
 * stored it (201, or a commit of a presigned upload: sample-sender.ts) or refused the payload
 * itself (400/413/415/422: retrying cannot help). Network
 * errors and 5xx keep it queued and back off with jitter. The idempotency key makes a retry after
 * a lost response harmless.
 */
import type { Logger } from '@edgeloop/shared';
import { ApiHttpError } from '@edgeloop/shared';
import type { ControlPlaneClient, SampleUploadResponse } from '../comms/control-plane-client.ts';
import { type BackoffOptions, backoffDelay, sleep } from '../util/backoff.ts';
import type { QueueEntry, SampleQueue } from './sample-queue.ts';
import { SampleSender } from './sample-sender.ts';

const PAYLOAD_REJECTED = new Set([400, 413, 415, 422]);

export function isPayloadRejected(err: unknown): boolean {
  return err instanceof ApiHttpError && PAYLOAD_REJECTED.has(err.httpStatus);
}

export interface SampleUploaderOptions {
  queue: SampleQueue;
  client: ControlPlaneClient;
  logger: Logger;
  retry: BackoffOptions;
  onUploaded(entry: QueueEntry, response: SampleUploadResponse): void;
}

export class SampleUploader {
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;
  private uploadedCount = 0;
  private readonly sender: SampleSender;

  constructor(private readonly o: SampleUploaderOptions) {
    this.sender = new SampleSender(o.client);
  }

  uploaded(): number {
    return this.uploadedCount;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { queue, logger } = this.o;
    const signal = this.abort.signal;
    let failures = 0;
    while (await queue.waitForEntry(signal)) {
      const entry = queue.checkout();
      if (!entry) continue;
      const log = logger.child({ idempotencyKey: entry.key, frameId: entry.metadata.frameId });
      try {
        const image = await queue.readImage(entry);
        const response = await this.sender.send(entry.metadata, image, signal);
        await queue.remove(entry.key);
        if (failures > 0) logger.info({ failures, queued: queue.size() }, 'sample uploads resumed');
        failures = 0;
        this.uploadedCount++;
        log.debug({ sampleId: response.sampleId, duplicate: response.duplicate }, 'sample uploaded');
        this.o.onUploaded(entry, response);
      } catch (err) {
        if (signal.aborted) {
          queue.release(entry.key);
          break;
        }
        if (isPayloadRejected(err) || (err as NodeJS.ErrnoException).code === 'ENOENT') {
          log.warn({ err }, 'sample refused for good; dropping it');
          await queue.remove(entry.key);
          continue;
        }
        queue.release(entry.key);
        const delayMs = backoffDelay(failures, this.o.retry);
        // The first failure of a streak is a warning; the retries that follow are routine.
        if (failures === 0)
          log.warn({ err, delayMs, queued: queue.size() }, 'sample upload failed; will retry');
        else log.debug({ err: (err as Error).message, delayMs, failures }, 'sample upload retry failed');
        failures++;
        await sleep(delayMs, signal);
      }
    }
  }
}
