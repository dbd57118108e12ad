/**
 * app/verify-bundle.mjs inside a bundle: `node verify-bundle.mjs DIR [PUBLIC_KEY_FILE]`. install.sh
 * runs it before copying anything, with the Node the bundle brings, so no other tool is needed.
 * Exit 0 and the manifest's version line when intact, 1 with the reason when not.
 */
import { verifyBundleDir } from '@edgeloop/shared';
import { readPublicKeyFile } from './key-files.ts';

const [dir, keyFile] = process.argv.slice(2);
try {
  const manifest = await verifyBundleDir(dir, keyFile ? [readPublicKeyFile(keyFile)] : undefined);
  console.log(`${manifest.agentVersion} ${manifest.arch} ${manifest.signer.keyId}`);
} catch (err) {
  console.error(`bundle check failed: ${(err as Error).message}`);
  process.exitCode = 1;
}
