/** Picks the ObjectStore named by config: a local folder (default) or an S3 bucket. */
import { join } from 'node:path';
import type { ObjectStoreConfig } from '@edgeloop/shared';
import { createLocalObjectStore } from './local-object-store.ts';
import type { ObjectStore } from './object-store.ts';
import { createS3ObjectStore } from './s3-object-store.ts';

export function openObjectStore(
  config: ObjectStoreConfig,
  dataDir: string,
): { objects: ObjectStore; close(): void; describe: string } {
  if (config.type === 'local') {
    const dir = config.dir ?? join(dataDir, 'objects');
    return { objects: createLocalObjectStore(dir), close: () => {}, describe: `local:${dir}` };
  }
  const store = createS3ObjectStore({
    bucket: config.bucket,
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
    accessKeyId: config.accessKeyId,
    secretAccessKey: config.secretAccessKey,
    prefix: config.prefix,
    presign: config.presign.enabled
      ? { expirySeconds: config.presign.expirySeconds, endpoint: config.presign.endpoint }
      : undefined,
  });
  return {
    objects: store,
    close: async () => await store.close(),
    describe: `s3://${config.bucket}/${config.prefix}${config.endpoint ? ` at ${config.endpoint}` : ''}`,
  };
}
