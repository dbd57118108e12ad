/**
 * The one-file device install, as a user does it: copy the bundle to a clean Debian bookworm
 * (debootstrap minbase, from .ci/bookworm-rootfs.sh: no Node, no npm, no compiler), unpack it and
 * run install.sh as root with NO network (a fresh network namespace: not even loopback is up), then
 * start the installed agent as its service user. It enrolls with the token given to install.sh and
 * classifies frames with a model the control plane on the host assigns. Once for x64, once for
 * arm64 under qemu-user (an arm64 root filesystem; binfmt_misc runs its programs).
 *
 * Systemd is not PID 1 in a chroot, so the agent is started the way the unit starts it (same
 * command, user, groups and environment) and the unit file is checked by `systemd-analyze verify`.
 */
import { execFile } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, readlink, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ApiClient } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BundleArch } from '../../cli/bundle/build-agent-bundle.ts';
import { buildTestBundle } from '../helpers/agent-bundle.ts';
import { bindArmCpuinfo } from '../helpers/arm-cpuinfo.ts';
import { JsonLogProcess } from '../helpers/json-log-process.ts';
import { testManifest } from '../helpers/manifest-fixture.ts';
import {
  createToken,
  startTestControlPlane,
  type TestControlPlane,
} from '../integration/control-plane/helpers.ts';
import { fleetModel, freePort, waitUntil } from '../integration/rollouts/fleet.ts';

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../..');
const ROOTFS_ARCH = { x64: 'amd64', arm64: 'arm64' } as const;
/** What systemd gives a service: a clean environment with the default PATH (no host variables). */
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

describe('install.sh in a clean bookworm root filesystem, offline', () => {
  let t: TestControlPlane;
  let api: ApiClient;
  const roots: string[] = [];
  const agents: JsonLogProcess[] = [];

  beforeAll(async () => {
    t = await startTestControlPlane({
      http: { host: '127.0.0.1', port: await freePort() },
      mqtt: { host: '127.0.0.1', port: await freePort() },
      logLevel: 'info',
    });
    api = new ApiClient(t.cp.httpUrl, t.cp.adminToken);
    const model = fleetModel('confident', 1);
    await api.publishModel(testManifest(model, { modelVersion: 1 }), new Map([['model.onnx', model]]));
  });

  afterAll(async () => {
    for (const agent of agents) await agent.kill();
    for (const root of roots) await rm(root, { recursive: true, force: true });
    await t?.stop();
  });

  async function installAndRun(arch: BundleArch): Promise<void> {
    const deviceId = `installed-${arch}`;
    const bundle = await buildTestBundle(arch, join(t.dataDir, 'signing-key.json'), t.dataDir);
    const { stdout: rootfsTar } = await run('bash', [
      join(REPO, '.ci/bookworm-rootfs.sh'),
      ROOTFS_ARCH[arch],
    ]);
    const root = await mkdtemp(join(t.dataDir, `rootfs-${arch}-`));
    roots.push(root);
    await run('tar', ['-xf', rootfsTar.trim(), '-C', root]);
    await run('cp', [bundle.built.file, join(root, 'root/agent-bundle.tar.gz')]);
    writeFileSync(join(root, 'root/control-plane.pub.pem'), t.cp.signingPublicKey.publicKeyPem);
    writeFileSync(
      join(root, 'root/agent-base.json'),
      JSON.stringify({
        deviceId,
        camera: { type: 'synthetic', width: 64, height: 64, fps: 2 },
        reportIntervalMs: 1000,
      }),
    );

    // What a device's /proc has; an emulated arm64 one also needs an ARM cpuinfo (arm-cpuinfo.ts).
    const mountProc = ['mount -t proc proc "$1/proc"', ...(arch === 'arm64' ? [bindArmCpuinfo('$1')] : [])];
    // A new network namespace: only a loopback interface, and it is down. No registry, no mirror.
    const install = [
      'set -e',
      ...mountProc,
      `exec chroot "$1" /usr/bin/env -i PATH=${PATH} /bin/sh -c "`,
      "  echo interfaces: $(grep : /proc/net/dev | cut -d: -f1 | tr -d ' ')",
      '  cd /root && tar -xzf agent-bundle.tar.gz && cd edgeloop-agent-*',
      `  ./install.sh --url ${t.cp.httpUrl} --token ${await createToken(t)} --config /root/agent-base.json --public-key /root/control-plane.pub.pem"`,
    ].join('\n');
    const installed = await run('unshare', ['--net', '--mount', '--fork', 'sh', '-c', install, 'sh', root], {
      timeout: 300_000,
    });
    expect(installed.stdout).toMatch(/^interfaces: lo$/m);
    expect(installed.stdout).toMatch(new RegExp(`edgeloop agent 0\\.1\\.0 \\(${arch}\\), bundle verified`));
    expect(installed.stdout).toMatch(/config OK/);

    // What the script left: the layout, the user and its groups, a config only the service reads.
    expect(await readlink(join(root, 'opt/edgeloop/current'))).toBe('0.1.0');
    const passwd = readFileSync(join(root, 'etc/passwd'), 'utf8');
    const [, , uid, gid] = passwd
      .split('\n')
      .find((l) => l.startsWith('edgeloop:'))!
      .split(':');
    const groups = readFileSync(join(root, 'etc/group'), 'utf8').split('\n');
    const groupIds = ['video', 'render'].map((name) => {
      const line = groups.find((l) => l.startsWith(`${name}:`))!;
      expect(line.split(':')[3].split(',')).toContain('edgeloop');
      return line.split(':')[2];
    });
    const config = statSync(join(root, 'etc/edgeloop/agent.json'));
    expect(config.mode & 0o777).toBe(0o640);
    expect(statSync(join(root, 'var/lib/edgeloop')).uid).toBe(Number(uid));
    const unit = readFileSync(join(root, 'etc/systemd/system/edgeloop-agent.service'), 'utf8');
    expect(unit).toMatch(/^Type=notify$/m);
    expect(unit).toMatch(/^WatchdogSec=\d+$/m);
    await verifyUnit(unit, root);

    // Started as the unit starts it; networking on now, to reach the control plane on the host.
    const exec = unit.match(/^ExecStart=(.*)$/m)![1].split(' ');
    const start = [
      'set -e',
      ...mountProc,
      // A device has /sys (onnxruntime reads the CPU list there, the agent the temperature).
      'mount -t sysfs sysfs "$1/sys"',
      `exec chroot --userspec=${uid}:${gid} --groups=${groupIds.join(',')} "$1" env -i PATH=${PATH} EDGELOOP_AGENT_DATA_DIR=/var/lib/edgeloop ${exec.join(' ')}`,
    ].join('\n');
    const agent = new JsonLogProcess('unshare', ['--mount', '--fork', 'sh', '-c', start, 'sh', root], {
      processGroup: true,
    });
    agents.push(agent);
    const running = await agent.waitFor((l) => /running on/.test(l.text ?? ''), 'running', 180_000);
    expect(running.text).toContain(`device ${deviceId} running on linux/${arch}`);
    await api.assign(1, { deviceIds: [deviceId] });
    await waitUntil(
      async () => {
        const d = await t.cp.store.devices.get(deviceId);
        return d?.reportedVersion === 1 && d.framesProcessed > 0;
      },
      `${deviceId} classifying with model 1`,
      180_000,
    );
    await agent.kill();
    if (arch === 'x64') await reinstallAndTamper(root);
  }

  /** Running install.sh again upgrades in place and keeps the config; a changed file is refused. */
  async function reinstallAndTamper(root: string): Promise<void> {
    const before = JSON.parse(readFileSync(join(root, 'etc/edgeloop/agent.json'), 'utf8'));
    const again = [
      'mount -t proc proc "$1/proc"',
      `exec chroot "$1" /usr/bin/env -i PATH=${PATH} /bin/sh -c "cd /root/edgeloop-agent-* && ./install.sh --no-start"`,
    ].join('\n');
    await run('unshare', ['--net', '--mount', '--fork', 'sh', '-c', again, 'sh', root]);
    const after = JSON.parse(readFileSync(join(root, 'etc/edgeloop/agent.json'), 'utf8'));
    expect(after).toEqual(before);

    const tamper = [
      'mount -t proc proc "$1/proc"',
      `exec chroot "$1" /usr/bin/env -i PATH=${PATH} /bin/sh -c "cd /root/edgeloop-agent-* && echo '// changed' >> app/agent.mjs && ./install.sh --no-start"`,
    ].join('\n');
    const refused = await run('unshare', ['--net', '--mount', '--fork', 'sh', '-c', tamper, 'sh', root]).then(
      () => null,
      (err: { stderr: string }) => err.stderr,
    );
    expect(refused).toMatch(
      /bundle file app\/agent\.mjs does not match the manifest[\s\S]*refusing to install/,
    );
  }

  it('installs the x64 bundle with no network; the agent enrolls and classifies; a re-install keeps the config, a changed file is refused', async () => {
    await installAndRun('x64');
  }, 420_000);

  it('installs the arm64 bundle in an arm64 root under qemu; the agent enrolls and classifies', async () => {
    await installAndRun('arm64');
  }, 600_000);
});

/** systemd-analyze verify on the installed unit, its program paths pointed into the chroot. */
async function verifyUnit(unit: string, root: string): Promise<void> {
  const dir = await mkdtemp(join(root, 'unit-check-'));
  writeFileSync(
    join(dir, 'edgeloop-agent.service'),
    unit.replaceAll('/opt/edgeloop/', `${root}/opt/edgeloop/`),
  );
  const { stderr } = await run('systemd-analyze', ['verify', join(dir, 'edgeloop-agent.service')]);
  expect(stderr).toBe('');
}
