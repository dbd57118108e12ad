/**
 * Agent bundles derived from one built bundle, for self-update tests: the same files with another
 * agent version (the version the compiled agent reports and the manifest states), optionally
 * broken by JavaScript put in front of the agent, then listed, re-signed and packed again. Building
 * a real bundle takes a minute; deriving one takes a second.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  BUNDLE_MANIFEST_FILE,
  type BundleManifest,
  listBundleFiles,
  type SigningKey,
  signBundleManifest,
} from '@edgeloop/shared';

const run = promisify(execFile);

export interface DerivedBundle {
  file: string;
  version: string;
}

export async function deriveBundle(
  unpacked: string,
  options: {
    version: string;
    signingKey: SigningKey;
    workDir: string;
    breakWith?: string;
    /** Leave out node/: the variant for devices with Node 20 of their own (about a third the bytes). */
    withoutNode?: boolean;
  },
): Promise<DerivedBundle> {
  const base = JSON.parse(await readFile(join(unpacked, BUNDLE_MANIFEST_FILE), 'utf8')) as BundleManifest;
  const name = `edgeloop-agent-${options.version}-linux-${base.arch}`;
  const work = await mkdtemp(join(options.workDir, 'derive-'));
  const root = join(work, name);
  await cp(unpacked, root, { recursive: true });
  if (options.withoutNode) await rm(join(root, 'node'), { recursive: true, force: true });
  const agentFile = join(root, 'app/agent.mjs');
  let code = await readFile(agentFile, 'utf8');
  const pattern = new RegExp(`AGENT_VERSION = "${base.agentVersion.replaceAll('.', '\\.')}"`);
  if (!pattern.test(code)) throw new Error('the compiled agent does not state its version as expected');
  code = code.replace(pattern, `AGENT_VERSION = "${options.version}"`);
  if (options.breakWith) code = `${options.breakWith}\n${code}`;
  await writeFile(agentFile, code);
  const manifest = signBundleManifest(
    {
      ...base,
      agentVersion: options.version,
      node: options.withoutNode ? { bundled: false, version: '>=20.19' } : base.node,
      createdAt: new Date().toISOString(),
      files: await listBundleFiles(root),
      signature: undefined,
    },
    options.signingKey,
  );
  await writeFile(join(root, BUNDLE_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  const file = join(options.workDir, `${name}.tar.gz`);
  // gzip -1: a test bundle is packed for loopback, not for the wire.
  await run('tar', ['-I', 'gzip -1', '-cf', file, '-C', work, name]);
  return { file, version: options.version };
}
