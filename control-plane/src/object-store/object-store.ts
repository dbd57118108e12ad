/** Blob storage by role: model files and sample images. Local disk today, S3 later. */
export interface ObjectStore {
  /** Durable once the promise resolves; overwrites an existing key. */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** Throws NotFoundError for a missing key. */
  get(key: string): Promise<Uint8Array>;
  has(key: string): Promise<boolean>;
  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
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
