/**
 * The S3 server (s3rver) in a process of its own for `edgeloop bench fleet`: `node --import tsx
 * s3-process.ts BUCKET [DIRECTORY]`. Prints one JSON line, the control-plane `objectStore` config
 * that points at it, then serves until SIGTERM. A fleet installing at once holds one download
 * socket per device here, so it gets an open-file budget of its own.
 */
import { startS3 } from '../../test/helpers/s3-server.ts';

const [bucket, directory] = process.argv.slice(2);
const s3 = await startS3(bucket, directory ? { directory } : {});
process.stdout.write(`${JSON.stringify(s3.config())}\n`);
process.once('SIGTERM', () => {
  s3.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
