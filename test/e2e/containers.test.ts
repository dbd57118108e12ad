/**
 * The images as a user builds and runs them: deploy/Dockerfile's three targets built by Debian's
 * docker.io (classic builder), each run as a non-root user, and deploy/compose.yaml brought up
 * with docker-compose: a control plane and an agent whose camera is ffmpeg's test source. From the
 * host, through the API, the agent enrolls, a model is published and rolled out, predictions
 * arrive, and `docker stop` ends both with status 0.
 *
 * No registry is reachable here: NODE_IMAGE is a base built from the cached bookworm rootfs and
 * this machine's Node (.ci/node-base-image.sh); dockerd keeps its layers in the CI cache
 * (.ci/dockerd.sh), so a repeat run rebuilds nothing. The images are built with `docker build
 * --network host` (the daemon has no default bridge, see dockerd.sh) from the same Dockerfile,
 * targets and build argument compose.yaml names, and tagged as compose.yaml's `image:`s, so
 * `docker-compose up --no-build` runs exactly those. Needs root and docker.io + docker-compose
 * (.ci/run installs them and sets EDGELOOP_CONTAINER_TESTS=required, which turns a skip into a failure).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ApiClient, apiRoutes } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testManifest } from '../helpers/manifest-fixture.ts';
import { tempDir } from '../integration/control-plane/helpers.ts';
import { fleetModel, freePort, waitUntil } from '../integration/rollouts/fleet.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const DOCKER = '/usr/bin/docker';
const COMPOSE = '/usr/bin/docker-compose';
const PROJECT = 'edgeloop-ci';
const TAG = 'ci';
const TARGETS = ['control-plane', 'agent', 'trainer'] as const;

const missing = [
  process.getuid?.() === 0 ? null : 'root',
  existsSync('/usr/sbin/dockerd') ? null : 'dockerd (apt-get install docker.io)',
  existsSync(COMPOSE) ? null : 'docker-compose (apt-get install docker-compose)',
].filter((m) => m !== null);
const required = process.env.EDGELOOP_CONTAINER_TESTS === 'required';
if (missing.length > 0 && !required)
  console.warn(`containers.test.ts skipped: needs ${missing.join(', ')}; bash .ci/run installs them`);

describe.runIf(missing.length === 0 || required)('images and compose stack', () => {
  const dir = tempDir();
  const timings: Record<string, number> = {};
  let env: NodeJS.ProcessEnv;
  let startedDaemon = false;
  let api: ApiClient;
  let httpPort: number;
  let agentPort: number;

  const timed = async <T>(what: string, step: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await step();
    } finally {
      timings[what] = Math.round((performance.now() - t0) / 100) / 10;
    }
  };
  const sh = async (file: string, args: string[], timeoutMs = 600_000) => {
    try {
      return (await run(file, args, { cwd: ROOT, env, timeout: timeoutMs, maxBuffer: 64 << 20 })).stdout;
    } catch (err) {
      const e = err as Error & { stdout?: string; stderr?: string };
      throw new Error(`${file} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
    }
  };
  const docker = (...args: string[]) => sh(DOCKER, args);
  const compose = (...args: string[]) =>
    sh(COMPOSE, ['--project-name', PROJECT, '--file', 'deploy/compose.yaml', ...args]);
  const containerOf = async (service: string) => (await compose('ps', '-q', service)).trim();
  const inspect = async (service: string, format: string) =>
    (await docker('inspect', '-f', format, await containerOf(service))).trim();

  beforeAll(async () => {
    if (missing.length > 0)
      throw new Error(`container tests are required here but need ${missing.join(', ')}`);
    env = { ...process.env, DOCKER_BUILDKIT: '0', COMPOSE_DOCKER_CLI_BUILD: '0' };
    const probe = await run(DOCKER, ['version'], {
      env: { ...env, DOCKER_HOST: 'unix:///run/edgeloop-ci-docker/docker.sock' },
    }).then(
      () => true,
      () => false,
    );
    startedDaemon = !probe;
    env.DOCKER_HOST = (await timed('dockerd', () => sh(join(ROOT, '.ci/dockerd.sh'), ['start']))).trim();
    env.NODE_IMAGE = (await timed('base image', () => sh(join(ROOT, '.ci/node-base-image.sh'), []))).trim();
    httpPort = await freePort();
    agentPort = await freePort();
    Object.assign(env, {
      EDGELOOP_TAG: TAG,
      EDGELOOP_HTTP_PORT: String(httpPort),
      EDGELOOP_MQTT_PORT: String(await freePort()),
      EDGELOOP_AGENT_PORT: String(agentPort),
      EDGELOOP_AGENT_CONFIG: join(dir.path, 'agent.json'),
    });
    // Whatever a failed earlier run left behind.
    await compose('down', '--volumes', '--remove-orphans');
  }, 900_000); // a first run debootstraps bookworm (~1.5 min) and builds the base image

  afterAll(async () => {
    if (env?.DOCKER_HOST) {
      await compose('down', '--volumes', '--remove-orphans').catch(() => undefined);
      if (startedDaemon) await sh(join(ROOT, '.ci/dockerd.sh'), ['stop']).catch(() => undefined);
    }
    dir.remove();
    console.log(`containers: ${JSON.stringify(timings)} (seconds)`);
  }, 120_000);

  it('builds each target of deploy/Dockerfile; none runs as root or carries a compiler', async () => {
    for (const target of TARGETS) {
      await timed(`build ${target}`, () =>
        docker(
          'build',
          '--network',
          'host',
          '--file',
          'deploy/Dockerfile',
          '--build-arg',
          `NODE_IMAGE=${env.NODE_IMAGE}`,
          '--target',
          target,
          '--tag',
          `edgeloop/${target}:${TAG}`,
          '.',
        ),
      );
      const image = `edgeloop/${target}:${TAG}`;
      const uid = await docker('run', '--rm', '--entrypoint', 'id', image, '-u');
      expect(Number(uid.trim()), `${target} runs as`).not.toBe(0);
      const tools = await docker(
        'run',
        '--rm',
        '--entrypoint',
        'sh',
        image,
        '-c',
        'for t in gcc g++ cc make; do command -v $t; done; true',
      );
      expect(tools.trim(), `${target} has no build toolchain`).toBe('');
      // The program and its dependencies load in the image (native modules included).
      await docker(
        'run',
        '--rm',
        '--entrypoint',
        'node',
        image,
        '--import',
        'tsx',
        '--input-type=module',
        '--eval',
        `await import('@edgeloop/${target}')`,
      );
    }
    const health = JSON.parse(
      await docker('image', 'inspect', '-f', '{{json .Config.Healthcheck}}', `edgeloop/agent:${TAG}`),
    );
    expect(health.Test.join(' ')).toContain('health --agent');
    const ffmpeg = await docker(
      'run',
      '--rm',
      '--entrypoint',
      'ffmpeg',
      `edgeloop/agent:${TAG}`,
      '-hide_banner',
      '-version',
    );
    expect(ffmpeg).toMatch(/^ffmpeg version/);
  }, 1_800_000);

  it('compose runs the loop: the agent enrolls, a rollout installs a model, predictions arrive', async () => {
    await timed('control plane healthy', async () => {
      await compose('up', '-d', '--no-build', 'control-plane');
      await waitUntil(
        async () => (await inspect('control-plane', '{{.State.Health.Status}}')) === 'healthy',
        'the control plane container healthy',
        180_000,
      );
    });
    const cpContainer = await containerOf('control-plane');
    expect(Number((await docker('exec', cpContainer, 'id', '-u')).trim())).not.toBe(0);
    const adminToken = (
      await docker('exec', cpContainer, 'cat', '/var/lib/edgeloop/control-plane/admin-token')
    ).trim();
    const key = JSON.parse(
      await docker('exec', cpContainer, 'cat', '/var/lib/edgeloop/control-plane/signing-key.json'),
    );
    api = new ApiClient(`http://127.0.0.1:${httpPort}`, adminToken);

    // The agent's config: the example with this control plane's token and public key filled in.
    const config = JSON.parse(await readFile(join(ROOT, 'deploy/config/agent-container.json'), 'utf8'));
    const { token } = await api.createEnrollmentToken({ uses: 1, group: 'compose' });
    config.enrollmentToken = token;
    config.trustedKeys = [{ keyId: key.keyId, publicKeyPem: key.publicKeyPem }];
    config.reportIntervalMs = 2_000;
    await writeFile(env.EDGELOOP_AGENT_CONFIG as string, JSON.stringify(config), { mode: 0o644 });

    const deviceId = await timed('agent enrolled and healthy', async () => {
      await compose('up', '-d', '--no-build', 'agent');
      const device = await waitUntil(
        async () => (await api.listDevices()).find((d) => d.online),
        'the agent enrolled and online',
        180_000,
      );
      await waitUntil(
        async () => (await inspect('agent', '{{.State.Health.Status}}')) === 'healthy',
        'the agent container healthy',
        180_000,
      );
      return device.deviceId;
    });
    expect(Number((await docker('exec', await containerOf('agent'), 'id', '-u')).trim())).not.toBe(0);

    await timed('rollout to predictions', async () => {
      const model = fleetModel('confident', 1);
      await api.publishModel(testManifest(model, { modelVersion: 1 }), new Map([['model.onnx', model]]));
      const rollout = await api.createRollout({
        modelVersion: 1,
        target: { group: 'compose' },
        strategy: { waves: [{ percent: 100 }], soakSeconds: 1, gates: { minPredictions: 3 } },
      });
      await waitUntil(
        async () => (await api.getRollout(rollout.rolloutId)).state === 'completed',
        'the rollout completed',
        180_000,
      );
      const device = await waitUntil(async () => {
        const d = await api.call(apiRoutes.getDevice, { params: { id: deviceId } });
        return d.reportedVersion === 1 && d.lastPrediction?.modelVersion === 1 && d;
      }, 'predictions of version 1');
      expect(device.predictionsTotal).toBeGreaterThan(0);
      expect(device.lastPrediction?.topK[0]?.label).toBe('red');
      // The agent's local endpoint, published on the host, shows the same.
      const local = (await (await fetch(`http://127.0.0.1:${agentPort}/prediction`)).json()) as {
        modelVersion: number;
      };
      expect(local.modelVersion).toBe(1);
    });

    // `docker stop` sends SIGTERM: both programs stop cleanly, well inside docker's 10 s grace.
    const stopAt = Date.now();
    await timed('compose stop', () => compose('stop'));
    for (const service of ['agent', 'control-plane']) {
      // 0, not 137: it ended by itself, not by docker's SIGKILL after the grace period.
      expect(await inspect(service, '{{.State.ExitCode}}'), `${service} exit status`).toBe('0');
      const finishedAt = Date.parse(await inspect(service, '{{.State.FinishedAt}}'));
      timings[`${service} stopped after`] = Math.round((finishedAt - stopAt) / 100) / 10;
    }
    const agentLogs = await docker('logs', '--timestamps', await containerOf('agent'));
    expect(agentLogs).toContain('agent stopped');
    // How long the agent itself took, from the signal to its last line (docker's own stop adds
    // the client's and daemon's time around it).
    const at = (text: string) =>
      Date.parse(
        agentLogs
          .split('\n')
          .find((l) => l.includes(text))
          ?.split(' ')[0] ?? '',
      );
    timings['agent signal to stopped'] =
      Math.round((at('agent stopped') - at('SIGTERM received')) / 100) / 10;
  }, 900_000);
});
