/**
 * Agent bundles for tests: built with the real `edgeloop bundle` code (cached native packages and
 * Node runtimes under /var/cache/edgeloop-ci/bundle, so only the first run reaches npm), signed
 * with a test control plane's own key, and unpacked.
 */
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type BuiltBundle, type BundleArch, buildAgentBundle } from '../../cli/bundle/build-agent-bundle.ts';
import { readSigningKeyFile } from '../../cli/bundle/key-files.ts';

export const BUNDLE_CACHE = process.env.EDGELOOP_BUNDLE_CACHE ?? '/var/cache/edgeloop-ci/bundle';
/** Where .ci/arm64-emulation.sh unpacks the arm64 C libraries (QEMU_LD_PREFIX). */
export const ARM64_SYSROOT = `${process.env.EDGELOOP_CI_CACHE ?? '/var/cache/edgeloop-ci'}/arm64-sysroot`;

export interface UnpackedBundle {
  built: BuiltBundle;
  /** The bundle's top directory (install.sh, bin/, app/, node/). */
  dir: string;
}

export async function buildTestBundle(
  arch: BundleArch,
  signingKeyFile: string,
  workDir: string,
): Promise<UnpackedBundle> {
  const built = await buildAgentBundle({
    arch,
    out: join(workDir, `agent-${arch}.tar.gz`),
    signingKey: readSigningKeyFile(signingKeyFile),
    withNode: true,
    cacheDir: BUNDLE_CACHE,
  });
  const into = await mkdtemp(join(workDir, 'unpacked-'));
  await promisify(execFile)('tar', ['-xzf', built.file, '-C', into]);
  return { built, dir: join(into, `edgeloop-agent-${built.manifest.agentVersion}-linux-${arch}`) };
}
