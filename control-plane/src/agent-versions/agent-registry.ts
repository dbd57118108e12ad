/**
 * Publishing agent versions: a bundle tarball from `edgeloop bundle agent` is accepted only when
 * its bundle manifest verifies against the control plane's signing keys (the keyring that signs
 * models), and is stored by content hash in the object store. Devices check the whole bundle
 * (every file's sha256) again before they switch to it.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  type AgentVersionSummary,
  ConflictError,
  type Logger,
  ManifestError,
  verifyBundleManifest,
} from '@edgeloop/shared';
import type { SigningKeyring } from '../auth/signing-keyring.ts';
import type { ObjectStore } from '../object-store/object-store.ts';
import type { AgentVersionRecord } from '../store/agent-version-store.ts';
import type { Store } from '../store/store.ts';

const run = promisify(execFile);
/** A bundle manifest lists every file; even a big bundle's stays well under this. */
const MANIFEST_MAX_BYTES = 16 << 20;

export interface AgentRegistryDeps {
  store: Store;
  objects: ObjectStore;
  keyring: SigningKeyring;
  logger: Logger;
}

export function agentBundleKey(sha256: string): string {
  return `agent-bundles/${sha256}.tar.gz`;
}

export function agentSummaryOf(v: AgentVersionRecord): AgentVersionSummary {
  const { objectKey: _key, manifest: _manifest, ...summary } = v;
  return summary;
}

/** bundle-manifest.json from the tarball's top folder, read by tar without unpacking the rest. */
async function readBundleManifest(bytes: Uint8Array): Promise<unknown> {
  const dir = await mkdtemp(join(tmpdir(), 'edgeloop-agent-upload-'));
  try {
    const file = join(dir, 'bundle.tar.gz');
    await writeFile(file, bytes);
    const { stdout } = await run(
      'tar',
      ['-xzOf', file, '--wildcards', '--no-wildcards-match-slash', '*/bundle-manifest.json'],
      {
        maxBuffer: MANIFEST_MAX_BYTES,
      },
    ).catch((err: Error) => {
      throw new ManifestError(
        'VALIDATION_FAILED',
        `not an agent bundle (no bundle-manifest.json): ${err.message.split('\n')[0]}`,
      );
    });
    return JSON.parse(stdout);
  } catch (err) {
    if (err instanceof SyntaxError)
      throw new ManifestError('VALIDATION_FAILED', 'bundle-manifest.json is not JSON');
    throw err;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function publishAgentBundle(
  deps: AgentRegistryDeps,
  bytes: Uint8Array,
  now = new Date(),
): Promise<AgentVersionSummary> {
  const manifest = verifyBundleManifest(await readBundleManifest(bytes), deps.keyring.trusted());
  const { agentVersion, arch } = manifest;
  if (await deps.store.agentVersions.getVersion(agentVersion, arch))
    throw new ConflictError(`agent ${agentVersion} for ${arch} is already published`);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const objectKey = agentBundleKey(sha256);
  await deps.objects.put(objectKey, bytes);
  const record: AgentVersionRecord = {
    agentVersion,
    arch,
    sha256,
    bytes: bytes.byteLength,
    objectKey,
    manifest,
    signerKeyId: manifest.signer.keyId,
    nodeBundled: manifest.node.bundled,
    createdAt: manifest.createdAt,
    publishedAt: now.toISOString(),
  };
  await deps.store.agentVersions.addVersion(record);
  deps.logger.info({ agentVersion, arch, bytes: record.bytes }, 'agent version published');
  return agentSummaryOf(record);
}
