/**
 * ObjectStore on S3 or an S3-compatible server (MinIO, s3rver, …): the only importer of
 * @aws-sdk/client-s3. A PutObject that returned 200 is durable on the server's side, which is the
 * same promise the local store makes after its fsyncs. Keys live under an optional `prefix` so
 * one bucket can hold several control planes.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { NotFoundError, ValidationError } from '@edgeloop/shared';
import {
  isValidListPrefix,
  isValidObjectKey,
  type ObjectPresigner,
  type ObjectStore,
} from './object-store.ts';

export interface S3ObjectStoreOptions {
  bucket: string;
  region: string;
  /** e.g. http://127.0.0.1:9000 for an S3-compatible server; AWS when absent. */
  endpoint?: string;
  /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible servers need. */
  forcePathStyle: boolean;
  /** Without these the SDK's default chain (env, profile, instance role) is used. */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Prepended to every key, e.g. `edgeloop/`. */
  prefix: string;
  /** Presigned URLs for devices; none when absent. */
  presign?: { expirySeconds: number; endpoint?: string };
}

export interface S3ObjectStore extends ObjectStore {
  close(): void;
}

function isMissing(err: unknown): boolean {
  if (err instanceof S3ServiceException) {
    return err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata.httpStatusCode === 404;
  }
  return false;
}

function clientFor(options: S3ObjectStoreOptions, endpoint: string | undefined): S3Client {
  return new S3Client({
    region: options.region,
    endpoint,
    forcePathStyle: options.forcePathStyle,
    credentials:
      options.accessKeyId && options.secretAccessKey
        ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey }
        : undefined,
    // Only the checksum we pin ourselves: the SDK's default adds a CRC32 of the *empty* presign
    // request to the URL, which every real PUT would then fail.
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
}

/** Model files handed out as shared GET URLs at once: a few versions' files. */
const MAX_SHARED_GET_URLS = 64;

/**
 * Presigned GET and PUT URLs (SigV4 query signing). Content-Type, Content-Length and
 * x-amz-checksum-sha256 are signed headers, so S3 refuses a PUT of other bytes or another size;
 * a server that skips signature checks (s3rver) is caught by the control plane's commit check.
 */
function createPresigner(
  signer: S3Client,
  Bucket: string,
  keyOf: (key: string) => string,
  expirySeconds: number,
): ObjectPresigner {
  // A GET URL is the same for every device (each may read every model file), and signing one
  // through the SDK's middleware costs more than the rest of the request: a fleet installing at
  // once shares one per file while it has more than half its lifetime left.
  const gets = new Map<string, { url: Promise<string>; freshUntil: number }>();
  return {
    expirySeconds,
    getUrl(key, now = Date.now()) {
      const cached = gets.get(key);
      if (cached && now < cached.freshUntil) return cached.url;
      const url = getSignedUrl(signer, new GetObjectCommand({ Bucket, Key: keyOf(key) }), {
        expiresIn: expirySeconds,
      });
      for (const [k, v] of gets) if (now >= v.freshUntil) gets.delete(k);
      if (gets.size >= MAX_SHARED_GET_URLS) gets.delete(gets.keys().next().value!);
      gets.set(key, { url, freshUntil: now + (expirySeconds * 1000) / 2 });
      // A failed signature is not handed out again (nor a newer one dropped in its place).
      url.catch(() => {
        if (gets.get(key)?.url === url) gets.delete(key);
      });
      return url;
    },
    async putUrl(key, spec) {
      const checksum = Buffer.from(spec.sha256, 'hex').toString('base64');
      const url = await getSignedUrl(
        signer,
        new PutObjectCommand({
          Bucket,
          Key: keyOf(key),
          ContentType: spec.contentType,
          ContentLength: spec.contentLength,
          ChecksumSHA256: checksum,
        }),
        {
          expiresIn: expirySeconds,
          signableHeaders: new Set(['content-type', 'content-length']),
          unhoistableHeaders: new Set(['x-amz-checksum-sha256']),
        },
      );
      // Content-Length is the body's own; fetch sets it and refuses to be told.
      return { url, headers: { 'content-type': spec.contentType, 'x-amz-checksum-sha256': checksum } };
    },
  };
}

export function createS3ObjectStore(options: S3ObjectStoreOptions): S3ObjectStore {
  const client = clientFor(options, options.endpoint);
  const signer = options.presign?.endpoint ? clientFor(options, options.presign.endpoint) : client;
  const Bucket = options.bucket;

  function keyOf(key: string): string {
    if (!isValidObjectKey(key)) throw new ValidationError(`invalid object key '${key}'`);
    return `${options.prefix}${key}`;
  }

  return {
    presigner: options.presign
      ? createPresigner(signer, Bucket, keyOf, options.presign.expirySeconds)
      : undefined,

    async put(key, bytes) {
      await client.send(new PutObjectCommand({ Bucket, Key: keyOf(key), Body: bytes }));
    },

    async get(key) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket, Key: keyOf(key) }));
        if (!out.Body) throw new NotFoundError(`object '${key}' has no body`);
        return await out.Body.transformToByteArray();
      } catch (err) {
        if (isMissing(err)) throw new NotFoundError(`object '${key}' not found`);
        throw err;
      }
    },

    async size(key) {
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket, Key: keyOf(key) }));
        return head.ContentLength ?? 0;
      } catch (err) {
        if (isMissing(err)) throw new NotFoundError(`object '${key}' not found`);
        throw err;
      }
    },

    async stream(key, range) {
      try {
        const out = await client.send(
          new GetObjectCommand({
            Bucket,
            Key: keyOf(key),
            // S3 serves byte ranges itself (RFC 9110 §14.1.2 form), so only the range is fetched.
            Range: range ? `bytes=${range.start}-${range.end}` : undefined,
          }),
        );
        if (!out.Body) throw new NotFoundError(`object '${key}' has no body`);
        return out.Body.transformToWebStream() as ReadableStream<Uint8Array>;
      } catch (err) {
        if (isMissing(err)) throw new NotFoundError(`object '${key}' not found`);
        throw err;
      }
    },

    async has(key) {
      try {
        await client.send(new HeadObjectCommand({ Bucket, Key: keyOf(key) }));
        return true;
      } catch (err) {
        if (isMissing(err)) return false;
        throw err;
      }
    },

    async delete(key) {
      // S3 answers 204 for a missing key too, which matches the interface.
      await client.send(new DeleteObjectCommand({ Bucket, Key: keyOf(key) }));
    },

    async list(prefix) {
      if (!isValidListPrefix(prefix)) throw new ValidationError(`invalid list prefix '${prefix}'`);
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({
            Bucket,
            Prefix: `${options.prefix}${prefix}`,
            ContinuationToken: token,
          }),
        );
        for (const item of page.Contents ?? []) {
          const key = item.Key?.slice(options.prefix.length);
          if (key && isValidObjectKey(key)) keys.push(key);
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys.sort();
    },

    close() {
      client.destroy();
      if (signer !== client) signer.destroy();
    },
  };
}
