/** A real S3-protocol server (s3rver) on a loopback port with one bucket, for the S3 path in tests. */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObjectStoreConfig } from '@edgeloop/shared';
import S3rver from 's3rver';

export interface TestS3 {
  endpoint: string;
  bucket: string;
  /**
   * The control-plane config that points at this server (keys under `prefix`); devices get
   * presigned URLs unless `presign.enabled` is false.
   */
  config(
    prefix?: string,
    presign?: Partial<Extract<ObjectStoreConfig, { type: 's3' }>['presign']>,
  ): Extract<ObjectStoreConfig, { type: 's3' }>;
  stop(): Promise<void>;
}

/** Objects go to a temp dir removed on stop, or to `options.directory`, kept (and reused). */
export async function startS3(
  bucket = 'edgeloop-test',
  options: { directory?: string } = {},
): Promise<TestS3> {
  const directory = options.directory ?? mkdtempSync(join(tmpdir(), 'edgeloop-s3-'));
  mkdirSync(directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    config: (prefix = '', presign = {}) => ({
      type: 's3',
      bucket,
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      // s3rver's fixed development credentials.
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      prefix,
      presign: { enabled: true, expirySeconds: 300, ...presign },
    }),
    async stop() {
      await server.close();
      if (!options.directory) rmSync(directory, { recursive: true, force: true });
    },
  };
}
