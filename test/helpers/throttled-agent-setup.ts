/**
 * The setup power-cut tests of model installs share: a real control plane (HTTP, embedded broker,
 * SQLite) on loopback ports, an admin API client, a throttled link in front of it (so a download
 * is a real stage a cut can land in, and leaves a partial file), and an agent config file that
 * enrolls one synthetic-camera device through that link. The agent itself is started by the test.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiClient } from '@edgeloop/shared';
import {
  createToken,
  startTestControlPlane,
  type TestControlPlane,
} from '../integration/control-plane/helpers.ts';
import { freePort } from '../integration/rollouts/fleet.ts';
import { startThrottleProxy, type ThrottleProxy } from './throttle-proxy.ts';

export interface ThrottledAgentSetup {
  t: TestControlPlane;
  api: ApiClient;
  proxy: ThrottleProxy;
  /** The agent's dataDir (models, queue, agent slots). */
  dataDir: string;
  configPath: string;
  close(): Promise<void>;
}

export async function startThrottledAgentSetup(o: {
  deviceId: string;
  linkBytesPerSecond: number;
  /** The synthetic camera's frame edge in pixels. */
  frameSize: number;
  reportIntervalMs: number;
  controlPlaneLogLevel: 'info' | 'warn';
}): Promise<ThrottledAgentSetup> {
  const t = await startTestControlPlane({
    http: { host: '127.0.0.1', port: await freePort() },
    mqtt: { host: '127.0.0.1', port: await freePort() },
    logLevel: o.controlPlaneLogLevel,
  });
  const api = new ApiClient(t.cp.httpUrl, t.cp.adminToken);
  const proxy = await startThrottleProxy(
    { host: '127.0.0.1', port: Number(new URL(t.cp.httpUrl).port) },
    o.linkBytesPerSecond,
  );
  const dataDir = join(t.dataDir, 'agent');
  const configPath = join(t.dataDir, 'agent.json');
  await writeFile(
    configPath,
    JSON.stringify({
      controlPlaneUrl: proxy.url,
      dataDir,
      enrollmentToken: await createToken(t),
      deviceId: o.deviceId,
      trustedKeys: [t.cp.signingPublicKey],
      camera: { type: 'synthetic', width: o.frameSize, height: o.frameSize, fps: 5 },
      reportIntervalMs: o.reportIntervalMs,
      logLevel: 'debug',
    }),
  );
  return {
    t,
    api,
    proxy,
    dataDir,
    configPath,
    async close() {
      await proxy.close();
      await t.stop();
    },
  };
}
