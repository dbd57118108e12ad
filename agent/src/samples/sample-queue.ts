/**
 * A persistent, bounded queue of samples waiting for upload: dataDir/queue/<key>.jpg plus
 * <key>.json (a QueuedSample). The JSON is written last, atomically, so it marks a complete entry;
 * anything else found at open (temp files, an image without JSON) is debris from a crash.
 *
 * Order: most uncertain (lowest top-1 confidence) first. When full, the most confident sample —
 * the least useful to label — is dropped, whether it is queued already or the one arriving.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Logger,
  PRIVATE_DIR_MODE,
  PROTOCOL_VERSION,
  parseJsonWith,
  type QueuedSample,
  QueuedSampleSchema,
  TEMP_SUFFIX,
  writeFileAtomic,
} from '@edgeloop/shared';

export interface QueueEntry extends QueuedSample {
  key: string;
}

export interface AddResult {
  queued: boolean;
  /** Key of the entry dropped to make room (or the new one's, when it was the most confident). */
  dropped: string | null;
}

const KEY_PATTERN = /^[A-Za-z0-9-]{8,128}$/;

function byUncertainty(a: QueueEntry, b: QueueEntry): number {
  return a.confidence - b.confidence || a.enqueuedAt.localeCompare(b.enqueuedAt);
}

export class SampleQueue {
  private readonly entries = new Map<string, QueueEntry>();
  private readonly inFlight = new Set<string>();
  private readonly waiters = new Set<() => void>();
  private droppedCount = 0;

  private constructor(
    readonly dir: string,
    private maxQueued: number,
    private readonly logger: Logger,
  ) {}

  static async open(dir: string, options: { maxQueued: number; logger: Logger }): Promise<SampleQueue> {
    const queue = new SampleQueue(dir, options.maxQueued, options.logger);
    await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    await queue.recover();
    return queue;
  }

  size(): number {
    return this.entries.size;
  }

  /** A new limit (remote configuration); a lowered one takes effect as new samples arrive. */
  setMaxQueued(maxQueued: number): void {
    this.maxQueued = maxQueued;
  }

  /** Samples dropped because the queue was full, since this process opened it. */
  dropped(): number {
    return this.droppedCount;
  }

  async add(sample: {
    metadata: QueuedSample['metadata'];
    confidence: number;
    jpeg: Uint8Array;
  }): Promise<AddResult> {
    const key = sample.metadata.idempotencyKey;
    if (!KEY_PATTERN.test(key)) throw new Error(`idempotency key '${key}' is not a safe file name`);
    let dropped: string | null = null;
    if (this.entries.size >= this.maxQueued) {
      const victim = this.mostConfident();
      if (!victim || victim.confidence <= sample.confidence) {
        this.droppedCount++;
        return { queued: false, dropped: key };
      }
      await this.delete(victim.key);
      this.droppedCount++;
      dropped = victim.key;
    }
    const entry: QueueEntry = {
      key,
      protocol: PROTOCOL_VERSION,
      confidence: sample.confidence,
      enqueuedAt: new Date().toISOString(),
      metadata: sample.metadata,
    };
    await writeFileAtomic(this.imagePath(key), sample.jpeg);
    const { key: _key, ...record } = entry;
    await writeFileAtomic(this.metaPath(key), JSON.stringify(record));
    this.entries.set(key, entry);
    // With 'sample uploaded' (same key), a sample can be followed from capture to the server.
    this.logger.debug({ idempotencyKey: key, queued: this.entries.size }, 'sample queued');
    for (const wake of this.waiters) wake();
    return { queued: true, dropped };
  }

  /** The most uncertain entry not already being uploaded; it stays queued until `remove`. */
  checkout(): QueueEntry | null {
    let best: QueueEntry | null = null;
    for (const entry of this.entries.values()) {
      if (this.inFlight.has(entry.key)) continue;
      if (!best || byUncertainty(entry, best) < 0) best = entry;
    }
    if (best) this.inFlight.add(best.key);
    return best;
  }

  /** Gives a checked-out entry back (its upload will be retried). */
  release(key: string): void {
    this.inFlight.delete(key);
  }

  async remove(key: string): Promise<void> {
    this.inFlight.delete(key);
    await this.delete(key);
  }

  readImage(entry: QueueEntry): Promise<Buffer> {
    return readFile(this.imagePath(entry.key));
  }

  /** Every entry, most uncertain first (for inspection and tests). */
  list(): QueueEntry[] {
    return [...this.entries.values()].sort(byUncertainty);
  }

  /** Resolves true when an entry is available for checkout, false if `signal` aborts first. */
  async waitForEntry(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      if (this.entries.size > this.inFlight.size) return true;
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          signal.removeEventListener('abort', wake);
          resolve();
        };
        this.waiters.add(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
    return false;
  }

  /** The least valuable entry: the most confident, and of equals the oldest. */
  private mostConfident(): QueueEntry | null {
    let worst: QueueEntry | null = null;
    for (const entry of this.entries.values()) {
      if (this.inFlight.has(entry.key)) continue;
      if (
        !worst ||
        entry.confidence > worst.confidence ||
        (entry.confidence === worst.confidence && entry.enqueuedAt < worst.enqueuedAt)
      )
        worst = entry;
    }
    return worst;
  }

  private imagePath(key: string): string {
    return join(this.dir, `${key}.jpg`);
  }

  private metaPath(key: string): string {
    return join(this.dir, `${key}.json`);
  }

  private async delete(key: string): Promise<void> {
    this.entries.delete(key);
    // JSON first: without it the image is debris that the next open removes.
    await rm(this.metaPath(key), { force: true });
    await rm(this.imagePath(key), { force: true });
  }

  private async recover(): Promise<void> {
    const names = new Set(await readdir(this.dir));
    for (const name of names) {
      if (name.endsWith(TEMP_SUFFIX)) await rm(join(this.dir, name), { force: true });
    }
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const key = name.slice(0, -'.json'.length);
      try {
        if (!names.has(`${key}.jpg`)) throw new Error('image file missing');
        const record = parseJsonWith(QueuedSampleSchema, await readFile(join(this.dir, name), 'utf8'), name);
        if (record.metadata.idempotencyKey !== key)
          throw new Error('file name does not match its idempotency key');
        this.entries.set(key, { key, ...record });
      } catch (err) {
        this.logger.warn({ err, file: name }, 'dropping an unreadable queue entry');
        await this.delete(key);
      }
    }
    for (const name of names) {
      if (name.endsWith('.jpg') && !this.entries.has(name.slice(0, -'.jpg'.length))) {
        await rm(join(this.dir, name), { force: true });
      }
    }
    // maxQueued may have been lowered since these were written.
    while (this.entries.size > this.maxQueued) {
      const victim = this.mostConfident();
      if (!victim) break;
      await this.delete(victim.key);
      this.droppedCount++;
    }
    if (this.entries.size > 0) this.logger.info({ queued: this.entries.size }, 'sample queue recovered');
  }
}
