/** `edgeloop bundle`: builds and checks the one-file device install (see cli/bundle/). */

import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { apiRoutes, ValidationError } from '@edgeloop/shared';
import { apiClient, CONNECTION_OPTIONS } from '../options/connection-options.ts';
import { defineCommand, type OptionDefs, type ParsedArgs } from '../options/option-types.ts';

const options = {
  arch: { type: 'string', choices: ['arm64', 'x64'], description: 'agent: the device architecture' },
  out: { type: 'string', value: 'FILE', description: 'agent: where to write the bundle (.tar.gz)' },
  'signing-key': {
    type: 'string',
    value: 'FILE',
    env: 'EDGELOOP_SIGNING_KEY',
    description: "agent: the control plane's signing-key.json (the key that signs its models)",
  },
  'with-node': {
    type: 'boolean',
    description: 'agent: include the official Node 20 runtime (the device then needs no Node)',
  },
  'cache-dir': {
    type: 'string',
    value: 'DIR',
    env: 'EDGELOOP_BUNDLE_CACHE',
    defaultText: '$TMPDIR/edgeloop-bundle-cache',
    description: 'agent: reuse installed native packages and Node runtimes between builds',
  },
  'public-key': {
    type: 'string',
    value: 'FILE',
    description:
      "verify: the key the bundle must be signed with (PEM, or the control plane's signing-key.json)",
  },
  ...CONNECTION_OPTIONS,
} as const satisfies OptionDefs;

export const bundleCommand = defineCommand({
  name: 'bundle',
  summary: 'build a signed one-file agent install for a device, or check one',
  usage: 'edgeloop bundle <subcommand> [options]',
  description:
    'A bundle is a tar.gz with the agent compiled to JavaScript, its native packages for one architecture, optionally Node, install.sh and the systemd unit, and a signed list of every file with its sha256. Copy it to a device and run install.sh there: nothing is downloaded.',
  subcommands: [
    {
      usage: 'agent --arch arm64|x64 --out FILE --signing-key FILE [--with-node]',
      summary: 'build a bundle for Linux on that architecture (needs the npm registry once per version)',
    },
    {
      usage: 'verify FILE [--public-key FILE]',
      summary: 'check that a bundle is intact and signed by that key',
    },
    {
      usage: 'publish FILE [--control-plane URL] [--admin-token T]',
      summary: 'upload a bundle as an agent version, for agent rollouts (devices update themselves)',
    },
  ],
  options,
  run: (args): Promise<number> => bundle(args),
});

async function bundle({ values, positionals }: ParsedArgs<typeof options>): Promise<number> {
  const [sub, file] = positionals;
  if (sub === 'agent') {
    if (!values.arch || !values.out || !values['signing-key']) {
      throw new ValidationError('bundle agent needs --arch, --out and --signing-key');
    }
    const { buildAgentBundle } = await import('../bundle/build-agent-bundle.ts');
    const { readSigningKeyFile } = await import('../bundle/key-files.ts');
    const built = await buildAgentBundle({
      arch: values.arch,
      out: values.out,
      signingKey: readSigningKeyFile(values['signing-key']),
      withNode: values['with-node'] ?? false,
      cacheDir: values['cache-dir'],
      log: (line) => process.stderr.write(`edgeloop bundle: ${line}\n`),
    });
    const m = built.manifest;
    console.log(
      `${built.file}: agent ${m.agentVersion} linux/${m.arch}, ${m.files.length} files, ${(built.bytes / 1e6).toFixed(1)} MB, node ${m.node.bundled ? m.node.version : 'not included'}, signed by ${m.signer.keyId}`,
    );
    return 0;
  }
  if (sub === 'verify') {
    if (!file) throw new ValidationError('bundle verify needs the bundle file');
    const { verifyBundleDir } = await import('@edgeloop/shared');
    const { readPublicKeyFile } = await import('../bundle/key-files.ts');
    const work = await mkdtemp(join(tmpdir(), 'edgeloop-verify-'));
    try {
      await promisify(execFile)('tar', ['-xzf', file, '-C', work]);
      const [top] = await readdir(work);
      const key = values['public-key'] ? [readPublicKeyFile(values['public-key'])] : undefined;
      const m = await verifyBundleDir(join(work, top ?? ''), key);
      console.log(
        `${file}: intact, agent ${m.agentVersion} linux/${m.arch}, signed by ${m.signer.keyId}${key ? ' (the given key)' : ' (the key it names: pass --public-key to check who made it)'}`,
      );
      return 0;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  if (sub === 'publish') {
    if (!file) throw new ValidationError('bundle publish needs the bundle file');
    const { readFile } = await import('node:fs/promises');
    const form = new FormData();
    form.set('bundle', new Blob([await readFile(file)], { type: 'application/gzip' }), 'bundle.tar.gz');
    const v = await apiClient(values).call(apiRoutes.publishAgentVersion, { body: form });
    console.log(
      `published agent ${v.agentVersion} linux/${v.arch} (${(v.bytes / 1e6).toFixed(1)} MB, sha256 ${v.sha256.slice(0, 12)}…, signed by ${v.signerKeyId})`,
    );
    return 0;
  }
  throw new ValidationError(`unknown bundle subcommand '${sub}' (agent, verify, publish)`);
}
