/** Inclusive byte positions, as in an HTTP Range (RFC 9110 §14.1.2). */
export interface ByteRange {
  start: number;
  end: number;
}

/** Blob storage by role: model files, sample images and dataset images. Local disk or S3. */
export interface ObjectStore {
  /** Durable once the promise resolves; overwrites an existing key. */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** Throws NotFoundError for a missing key. */
  get(key: string): Promise<Uint8Array>;
  has(key: string): Promise<boolean>;
  /** The object's size in bytes; throws NotFoundError for a missing key. */
  size(key: string): Promise<number>;
  /**
   * The object's bytes, or the inclusive byte range `[start, end]` of them, as a stream that is
   * read as it is sent: a large model file never sits in memory whole. Throws NotFoundError.
   */
  stream(key: string, range?: ByteRange): Promise<ReadableStream<Uint8Array>>;
  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Every key that starts with `prefix`, sorted; used to import a whole "folder" of images. */
  list(prefix: string): Promise<string[]>;
  /** Present when devices may move bytes to and from this store themselves (S3); absent on disk. */
  presigner?: ObjectPresigner;
}

/** What a presigned PUT must look like; the store pins what it can in the signature. */
export interface PresignedPutSpec {
  contentType: string;
  contentLength: number;
  /** Lowercase hex; sent as x-amz-checksum-sha256 so S3 itself refuses other bytes. */
  sha256: string;
}

/**
 * Short-lived URLs for one object each. A URL is a bearer credential until it expires: log the
 * key, never the URL.
 */
export interface ObjectPresigner {
  readonly expirySeconds: number;
  /**
   * A URL to GET the object with, valid for at least half of `expirySeconds` from `now`; callers
   * may be handed the same one (it grants only what each of them may read anyway).
   */
  getUrl(key: string, now?: number): Promise<string>;
  /** The URL and the headers the PUT must carry exactly (its length is the body's). */
  putUrl(key: string, spec: PresignedPutSpec): Promise<{ url: string; headers: Record<string, string> }>;
}

/**
 * Keys are `/`-separated relative paths of plain segments (`models/3/model.onnx`): no empty, `.` or
 * `..` segments, no backslashes, so no backend can be tricked into leaving its root.
 */
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/;

export function isValidObjectKey(key: string): boolean {
  if (key.length === 0 || key.length > 1024) return false;
  return key.split('/').every((segment) => SEGMENT.test(segment) && segment !== '..' && segment !== '.');
}

/** A list prefix is a key, or a key followed by `/`, or empty (everything). */
export function isValidListPrefix(prefix: string): boolean {
  if (prefix === '') return true;
  return isValidObjectKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}
