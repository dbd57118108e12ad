/**
 * Checking an unpacked agent bundle: what install.sh relies on before it copies anything. A
 * small bundle-shaped directory, signed as `edgeloop bundle agent` signs one.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BUNDLE_MANIFEST_FILE,
  type BundleManifest,
  generateSigningKey,
  listBundleFiles,
  type SigningKey,
  signBundleManifest,
  verifyBundleDir,
} from '@edgeloop/shared';
import { describe, expect, it } from 'vitest';

async function makeBundle(key: SigningKey): Promise<{ dir: string; manifest: BundleManifest }> {
  const dir = mkdtempSync(join(tmpdir(), 'bundle-test-'));
  mkdirSync(join(dir, 'app/node_modules/pkg'), { recursive: true });
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'app/agent.mjs'), 'console.log("agent")\n');
  writeFileSync(join(dir, 'app/node_modules/pkg/index.js'), 'module.exports = 1;\n');
  writeFileSync(join(dir, 'bin/edgeloop-agent'), '#!/bin/sh\n');
  chmodSync(join(dir, 'bin/edgeloop-agent'), 0o755);
  const manifest = signBundleManifest(
    {
      kind: 'edgeloop-agent-bundle',
      formatVersion: 1,
      agentVersion: '1.2.3',
      platform: 'linux',
      arch: 'arm64',
      node: { bundled: false, version: '>=20.19' },
      createdAt: new Date().toISOString(),
      files: await listBundleFiles(dir),
      signer: { keyId: key.keyId, publicKeyPem: key.publicKeyPem },
    },
    key,
  );
  writeFileSync(join(dir, BUNDLE_MANIFEST_FILE), JSON.stringify(manifest));
  return { dir, manifest };
}

describe('agent bundle files and signature', () => {
  const key = generateSigningKey();
  const trusted = [{ keyId: key.keyId, publicKeyPem: key.publicKeyPem }];

  it('lists every file with its hash and executable bit, and accepts the intact bundle', async () => {
    const { dir, manifest } = await makeBundle(key);
    expect(manifest.files.map((f) => [f.path, f.executable])).toEqual([
      ['app/agent.mjs', false],
      ['app/node_modules/pkg/index.js', false],
      ['bin/edgeloop-agent', true],
    ]);
    expect((await verifyBundleDir(dir, trusted)).agentVersion).toBe('1.2.3');
    // Without a key of one's own, the bundle's named signer still proves it is intact.
    expect((await verifyBundleDir(dir)).arch).toBe('arm64');
  });

  it('refuses a changed, a missing or an added file', async () => {
    const changed = await makeBundle(key);
    writeFileSync(join(changed.dir, 'app/agent.mjs'), 'console.log("evil")\n');
    await expect(verifyBundleDir(changed.dir, trusted)).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH' });

    const missing = await makeBundle(key);
    rmSync(join(missing.dir, 'app/node_modules/pkg/index.js'));
    await expect(verifyBundleDir(missing.dir, trusted)).rejects.toThrow(/index\.js is missing/);

    const added = await makeBundle(key);
    writeFileSync(join(added.dir, 'app/extra.mjs'), 'x');
    await expect(verifyBundleDir(added.dir, trusted)).rejects.toThrow(/does not list: app\/extra\.mjs/);
  });

  it('refuses a bundle signed by another key, or whose manifest was edited', async () => {
    const { dir } = await makeBundle(generateSigningKey());
    await expect(verifyBundleDir(dir, trusted)).rejects.toMatchObject({ code: 'MANIFEST_UNTRUSTED_KEY' });

    const edited = await makeBundle(key);
    const manifest = { ...edited.manifest, agentVersion: '9.9.9' };
    writeFileSync(join(edited.dir, BUNDLE_MANIFEST_FILE), JSON.stringify(manifest));
    await expect(verifyBundleDir(edited.dir, trusted)).rejects.toMatchObject({
      code: 'MANIFEST_SIGNATURE_INVALID',
    });
  });
});
