/**
 * The agent as a Type=notify service: the real `edgeloop agent` process with $NOTIFY_SOCKET and
 * $WATCHDOG_USEC set as systemd sets them, against a real control plane. A unix datagram socket
 * stands in for systemd and records what the agent sends: READY=1 with its MAINPID once started,
 * WATCHDOG=1 pings at half the watchdog interval while its loops run, STOPPING=1 on SIGTERM.
 */
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonLogProcess } from '../../helpers/json-log-process.ts';
import { createToken, startTestControlPlane, type TestControlPlane } from '../control-plane/helpers.ts';
import { waitUntil } from '../rollouts/fleet.ts';

const REPO = resolve(import.meta.dirname, '../../..');

describe('the agent under systemd (Type=notify, WatchdogSec)', () => {
  let t: TestControlPlane;
  let systemd: JsonLogProcess;
  let agent: JsonLogProcess | null = null;
  const socketPath = () => join(t.dataDir, 'notify.sock');

  beforeAll(async () => {
    t = await startTestControlPlane();
    systemd = new JsonLogProcess('python3', [join(REPO, 'test/helpers/notify-socket.py'), socketPath()]);
    await systemd.waitFor((l) => l.text === 'listening', 'the notify socket', 60_000);
  });

  afterAll(async () => {
    await agent?.kill();
    await systemd?.kill();
    await t?.stop();
  });

  it('says READY=1 once started, pings the watchdog while running, and STOPPING=1 on SIGTERM', async () => {
    const config = join(t.dataDir, 'agent.json');
    writeFileSync(
      config,
      JSON.stringify({
        controlPlaneUrl: t.cp.httpUrl,
        enrollmentToken: await createToken(t),
        trustedKeys: [t.cp.signingPublicKey],
        dataDir: join(t.dataDir, 'agent'),
        camera: { type: 'synthetic', width: 48, height: 48, fps: 5 },
      }),
    );
    agent = new JsonLogProcess(
      process.execPath,
      [join(REPO, 'cli/edgeloop.mjs'), 'agent', '--config', config],
      {
        // WatchdogSec=2: systemd sets these two for the service's main process.
        env: { ...process.env, NOTIFY_SOCKET: socketPath(), WATCHDOG_USEC: '2000000' },
      },
    );
    const pid = agent.child.pid;
    const messages = () => systemd.lines.map((l) => l.text ?? '');
    await systemd.waitFor((l) => /READY=1/.test(l.text ?? ''), 'READY=1', 60_000);
    // The agent had started before it said so, and it speaks for its own pid.
    expect(agent.lines.some((l) => /running on/.test(l.text ?? ''))).toBe(true);
    expect(messages().find((m) => m.includes('READY=1'))).toContain(`MAINPID=${pid}`);
    await waitUntil(
      () => messages().filter((m) => m.includes('WATCHDOG=1')).length >= 3,
      'three watchdog pings',
      30_000,
    );

    const exited = once(agent.child, 'exit');
    agent.child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
    await systemd.waitFor((l) => /STOPPING=1/.test(l.text ?? ''), 'STOPPING=1', 10_000);
  }, 120_000);
});
