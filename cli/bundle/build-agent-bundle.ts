/**
 * Builds a device bundle: one signed tarball holding the agent compiled to plain JavaScript
 * (esbuild: our TypeScript and the pure-JS dependencies in one file, so the device needs no
 * loader), the native dependencies (onnxruntime-node, sharp) installed for the target
 * architecture only, optionally the official Node runtime, install.sh, the systemd unit, and
 * bundle-manifest.json listing every file with its sha256, signed with the control plane's key.
 *
 *   edgeloop-agent-<version>-linux-<arch>/
 *     install.sh  edgeloop-agent.service  bundle-manifest.json
 *     bin/edgeloop-agent          (sh: exec node app/agent.mjs "$@")
 *     bin/edgeloop-launcher       (the service's ExecStart: slot choice and self-update revert)
 *     app/agent.mjs  app/onnx-worker.mjs  app/verify-bundle.mjs  app/package.json  app/node_modules/
 *     node/bin/node               (with --with-node)
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmod,
  copyFile,
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  BUNDLE_MANIFEST_FILE,
  type BundleManifest,
  ConfigError,
  listBundleFiles,
  type SigningKey,
  signBundleManifest,
} from '@edgeloop/shared';
import { build } from 'esbuild';

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../..');

export type BundleArch = 'arm64' | 'x64';

/** The Node runtime a bundle brings with --with-node: the official build, from npm. */
export const BUNDLED_NODE_VERSION = '20.20.2';
/** Packages with native code stay out of the JavaScript bundle and are installed per architecture. */
const NATIVE_PACKAGES = ['onnxruntime-node', 'sharp'] as const;

export interface BuildBundleOptions {
  arch: BundleArch;
  out: string;
  signingKey: SigningKey;
  withNode: boolean;
  /** Reused between builds: installed node_modules per architecture and lockfile, Node tarballs. */
  cacheDir?: string;
  log?: (line: string) => void;
}

export interface BuiltBundle {
  file: string;
  manifest: BundleManifest;
  bytes: number;
}

/** The agent's version, as agent/package.json states it (agent/src/version.ts follows it). */
async function agentVersion(): Promise<string> {
  return JSON.parse(await readFile(join(REPO, 'agent/package.json'), 'utf8')).version;
}

async function lockedVersion(name: string): Promise<string> {
  const lock = JSON.parse(await readFile(join(REPO, 'package-lock.json'), 'utf8'));
  const version = lock.packages?.[`node_modules/${name}`]?.version;
  if (typeof version !== 'string') throw new ConfigError(`${name} is not in package-lock.json`);
  return version;
}

/** ESM output that still hosts CommonJS dependencies (mqtt, pino) which call require. */
const ESM_BANNER = [
  "import { createRequire as __cr } from 'node:module';",
  "import { fileURLToPath as __fu } from 'node:url';",
  "import { dirname as __dn } from 'node:path';",
  'const require = __cr(import.meta.url);',
  'const __filename = __fu(import.meta.url);',
  'const __dirname = __dn(__filename);',
].join('\n');

async function compile(app: string): Promise<void> {
  await build({
    entryPoints: {
      agent: join(REPO, 'cli/bundle/agent-entry.ts'),
      'verify-bundle': join(REPO, 'cli/bundle/verify-entry.ts'),
    },
    outdir: app,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: [...NATIVE_PACKAGES],
    banner: { js: ESM_BANNER },
    legalComments: 'none',
    logLevel: 'warning',
  });
  // onnx-backend.ts starts it as new URL('./onnx-worker.mjs', import.meta.url): keep it beside.
  await copyFile(join(REPO, 'agent/src/inference/onnx-worker.mjs'), join(app, 'onnx-worker.mjs'));
}

/** npm install of the native packages for `arch`, from a cache keyed by their exact versions. */
async function installNative(
  app: string,
  version: string,
  arch: BundleArch,
  cacheDir: string,
  log: (l: string) => void,
) {
  const dependencies: Record<string, string> = {};
  for (const name of NATIVE_PACKAGES) dependencies[name] = await lockedVersion(name);
  const pkg = {
    name: 'edgeloop-agent-bundle',
    version,
    private: true,
    type: 'module',
    dependencies,
  };
  const text = `${JSON.stringify(pkg, null, 2)}\n`;
  await writeFile(join(app, 'package.json'), text);
  const key = createHash('sha256')
    .update(`${arch}\n${JSON.stringify(dependencies)}`)
    .digest('hex')
    .slice(0, 16);
  const cached = join(cacheDir, `node-modules-${arch}-${key}`);
  if (!(await exists(cached))) {
    log(`installing ${Object.keys(dependencies).join(', ')} for linux/${arch} (npm)`);
    const work = await mkdtemp(join(cacheDir, 'npm-'));
    await writeFile(join(work, 'package.json'), text);
    await run(
      'npm',
      [
        'install',
        '--omit=dev',
        '--no-audit',
        '--no-fund',
        '--no-package-lock',
        '--ignore-scripts',
        '--os=linux',
        `--cpu=${arch}`,
        '--libc=glibc',
      ],
      { cwd: work, env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' }, maxBuffer: 16 << 20 },
    );
    await pruneOtherPlatforms(join(work, 'node_modules'), arch);
    await rm(join(work, 'node_modules/.bin'), { recursive: true, force: true });
    await rm(join(work, 'node_modules/.package-lock.json'), { force: true });
    // A rename within the cache: a build cut short leaves no half-filled entry behind.
    await rename(join(work, 'node_modules'), cached);
    await rm(work, { recursive: true, force: true });
  } else log(`native packages for linux/${arch} from the cache`);
  await cp(cached, join(app, 'node_modules'), { recursive: true });
}

/** onnxruntime-node ships every platform's binaries in one package; a device needs one. */
async function pruneOtherPlatforms(modules: string, arch: BundleArch): Promise<void> {
  const bin = join(modules, 'onnxruntime-node/bin');
  if (!(await exists(bin))) return;
  for (const napi of await readdir(bin)) {
    for (const platform of await readdir(join(bin, napi))) {
      if (platform !== 'linux') await rm(join(bin, napi, platform), { recursive: true, force: true });
      else {
        for (const a of await readdir(join(bin, napi, platform))) {
          if (a !== arch) await rm(join(bin, napi, platform, a), { recursive: true, force: true });
        }
      }
    }
  }
}

/** The official Node binary for `arch` (npm package node-linux-<arch>), cached as its tarball. */
async function addNode(root: string, arch: BundleArch, cacheDir: string, log: (l: string) => void) {
  const name = `node-linux-${arch}`;
  const tgz = join(cacheDir, `${name}-${BUNDLED_NODE_VERSION}.tgz`);
  if (!(await exists(tgz))) {
    log(`fetching ${name}@${BUNDLED_NODE_VERSION} (npm)`);
    await run('npm', ['pack', '--silent', `${name}@${BUNDLED_NODE_VERSION}`], { cwd: cacheDir });
  }
  const dest = join(root, 'node');
  await mkdir(dest, { recursive: true });
  await run('tar', ['-xzf', tgz, '-C', dest, '--strip-components=1', 'package/bin/node', 'package/LICENSE']);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

const LAUNCHER = `#!/bin/sh
# Starts the agent with the bundled Node when there is one, else the system's (Node 20 or newer).
here=$(cd "$(dirname "$0")/.." && pwd)
node="$here/node/bin/node"
[ -x "$node" ] || node=node
exec "$node" "$here/app/agent.mjs" "$@"
`;

export async function buildAgentBundle(options: BuildBundleOptions): Promise<BuiltBundle> {
  const log = options.log ?? (() => {});
  const cacheDir = options.cacheDir ?? join(tmpdir(), 'edgeloop-bundle-cache');
  await mkdir(cacheDir, { recursive: true });
  const version = await agentVersion();
  const name = `edgeloop-agent-${version}-linux-${options.arch}`;
  const work = await mkdtemp(join(tmpdir(), 'edgeloop-bundle-'));
  try {
    const root = join(work, name);
    const app = join(root, 'app');
    await mkdir(join(root, 'bin'), { recursive: true });
    log('compiling the agent (esbuild)');
    await compile(app);
    await installNative(app, version, options.arch, cacheDir, log);
    if (options.withNode) await addNode(root, options.arch, cacheDir, log);
    await writeFile(join(root, 'bin/edgeloop-agent'), LAUNCHER, { mode: 0o755 });
    await copyFile(join(REPO, 'deploy/device/edgeloop-launcher'), join(root, 'bin/edgeloop-launcher'));
    await chmod(join(root, 'bin/edgeloop-launcher'), 0o755);
    await copyFile(join(REPO, 'deploy/device/install.sh'), join(root, 'install.sh'));
    await chmod(join(root, 'install.sh'), 0o755);
    await copyFile(join(REPO, 'deploy/systemd/edgeloop-agent.service'), join(root, 'edgeloop-agent.service'));

    const manifest = signBundleManifest(
      {
        kind: 'edgeloop-agent-bundle',
        formatVersion: 1,
        agentVersion: version,
        platform: 'linux',
        arch: options.arch,
        node: { bundled: options.withNode, version: options.withNode ? BUNDLED_NODE_VERSION : '>=20.19' },
        createdAt: new Date().toISOString(),
        files: await listBundleFiles(root),
        signer: { keyId: options.signingKey.keyId, publicKeyPem: options.signingKey.publicKeyPem },
      },
      options.signingKey,
    );
    await writeFile(join(root, BUNDLE_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    const out = resolve(options.out);
    await mkdir(dirname(out), { recursive: true });
    log(`packing ${out}`);
    await run('tar', [
      '--sort=name',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '-czf',
      out,
      '-C',
      work,
      name,
    ]);
    return { file: out, manifest, bytes: (await stat(out)).size };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
