/**
 * Downloads a manifest's files into a partial folder, trusting nothing the server says beyond the
 * signed manifest: each file is capped at its declared length and must match its sha256. An
 * interrupted download resumes with an HTTP Range request (RFC 9110 §14.2) on the next attempt.
 *
 * A download has no overall deadline (a big model on a slow link takes what it takes), but one
 * that receives nothing for `stallTimeoutMs` is given up and resumed: a connection can die without
 * a word (a link cut while the far end reset it; the reset was lost with the link), and the
 * device would otherwise wait for TCP keep-alive, a minute or more, before it noticed.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ChecksumError,
  deviceFiles,
  type Logger,
  type Manifest,
  type ManifestFile,
  type ModelVariant,
  modelVariants,
  NetworkError,
} from '@edgeloop/shared';
import type { ControlPlaneClient } from '../comms/control-plane-client.ts';
import { fileSha256 } from './model-store.ts';

const WRITE_BATCH_BYTES = 256 * 1024;
export interface DownloadOptions {
  signal?: AbortSignal;
  logger: Logger;
  /** No byte for this long gives the attempt up (resumable); default: the client's request timeout. */
  stallTimeoutMs?: number;
}

/** An abort signal that fires when `touch` was not called for `ms`, or when `outer` aborts. */
function stallWatch(file: string, ms: number, outer?: AbortSignal) {
  const stalled = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(
      () =>
        stalled.abort(new NetworkError(`download of ${file} stalled: nothing received for ${ms} ms`, null)),
      ms,
    );
  };
  touch();
  return {
    signal: outer ? AbortSignal.any([outer, stalled.signal]) : stalled.signal,
    touch,
    stop: () => clearTimeout(timer),
  };
}

async function sizeOf(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.size,
    () => 0,
  );
}

async function hashPrefix(path: string): Promise<Hash> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash;
}

export async function downloadFile(
  client: ControlPlaneClient,
  modelVersion: number,
  file: ManifestFile,
  dir: string,
  options: DownloadOptions,
): Promise<void> {
  const path = join(dir, file.name);
  let have = await sizeOf(path);
  if (have > file.bytes) {
    await rm(path, { force: true });
    have = 0;
  }
  if (have === file.bytes) {
    if ((await fileSha256(path)) === file.sha256) return;
    await rm(path, { force: true });
    have = 0;
  }

  const watch = stallWatch(file.name, options.stallTimeoutMs ?? client.timeoutMs, options.signal);
  try {
    await receive(client, modelVersion, file, path, have, watch, options);
  } finally {
    watch.stop();
  }
}

async function receive(
  client: ControlPlaneClient,
  modelVersion: number,
  file: ManifestFile,
  path: string,
  have: number,
  watch: ReturnType<typeof stallWatch>,
  options: DownloadOptions,
): Promise<void> {
  const res = await client.downloadModelFile(modelVersion, file.name, {
    offset: have,
    signal: watch.signal,
  });
  // 206 = the server honoured the Range; anything else (200) sends the whole file again.
  const resume = have > 0 && res.status === 206;
  if (have > 0) options.logger.debug({ file: file.name, have, resumed: resume }, 'resuming download');
  const hash = resume ? await hashPrefix(path) : createHash('sha256');
  let written = resume ? have : 0;
  const handle = await open(path, resume ? 'a' : 'w');
  // Network chunks are small (16-64 KiB); writing them in batches saves most file-system calls.
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pendingBytes === 0) return;
    const batch = pending;
    pending = [];
    pendingBytes = 0;
    await handle.write(Buffer.concat(batch));
  };
  try {
    if (res.body) {
      for await (const chunk of res.body) {
        watch.touch();
        if (written + chunk.length > file.bytes) {
          // Never store more than the manifest declares: a server cannot fill the disk.
          await res.body.cancel().catch(() => {});
          throw new ChecksumError(
            `${file.name} is longer than the ${file.bytes} bytes the manifest declares`,
          );
        }
        hash.update(chunk);
        pending.push(chunk);
        pendingBytes += chunk.length;
        written += chunk.length;
        if (pendingBytes >= WRITE_BATCH_BYTES) await flush();
      }
    }
    await flush();
    await handle.sync();
  } catch (err) {
    // Keep every byte that arrived (hashing a resumed file starts from what is on disk).
    if (!(err instanceof ChecksumError)) await flush().catch(() => {});
    await handle.close();
    if (err instanceof ChecksumError) {
      await rm(path, { force: true });
      throw err;
    }
    if (options.signal?.aborted) throw err;
    // The connection broke mid-body: keep what arrived, the next attempt resumes from there.
    throw new NetworkError(`download of ${file.name} interrupted after ${written} bytes`, err);
  }
  await handle.close();

  if (written !== file.bytes) {
    await rm(path, { force: true });
    throw new ChecksumError(`${file.name}: received ${written} bytes, manifest declares ${file.bytes}`);
  }
  const digest = hash.digest('hex');
  if (digest !== file.sha256) {
    await rm(path, { force: true });
    throw new ChecksumError(`${file.name} has sha256 ${digest}, the signed manifest says ${file.sha256}`);
  }
}

/** A variant whose file failed its checks at download (it was removed; the other may serve). */
export interface RejectedVariant {
  variant: ModelVariant;
  reason: string;
}

/**
 * Downloads every device file. A model variant's file that fails its length or hash check is
 * removed and reported back instead of failing the install, as long as another variant arrives
 * intact: a bad fp32 (or int8) file must not cost the device the good one. Any other file, or every
 * variant failing, fails the install as before.
 */
export async function downloadModelFiles(
  client: ControlPlaneClient,
  manifest: Manifest,
  dir: string,
  options: DownloadOptions,
): Promise<RejectedVariant[]> {
  const variants = modelVariants(manifest);
  const rejected: RejectedVariant[] = [];
  let firstError: ChecksumError | null = null;
  for (const file of deviceFiles(manifest)) {
    options.signal?.throwIfAborted();
    const variant = variants.find((v) => v.file.name === file.name)?.variant;
    try {
      await downloadFile(client, manifest.modelVersion, file, dir, options);
    } catch (err) {
      if (!(err instanceof ChecksumError) || variant === undefined) throw err;
      options.logger.warn(
        { file: file.name, variant, err, modelVersion: manifest.modelVersion },
        'model variant rejected: its file failed verification',
      );
      firstError ??= err;
      rejected.push({ variant, reason: err.message });
      continue;
    }
    options.logger.debug({ file: file.name, bytes: file.bytes }, 'file downloaded and verified');
  }
  if (firstError && rejected.length === variants.length) throw firstError;
  return rejected;
}
