/**
 * deploy/device/edgeloop-launcher, the unit's ExecStart, run as a real sh process on slots whose
 * "agent" is a small sh script (what it does is up to each case): which code it starts, the boot
 * counter, the health deadline, and the revert, including the states a power cut leaves behind.
 * The full cycle with real agents and a control plane is test/e2e/agent-self-update.test.ts.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const LAUNCHER = resolve(import.meta.dirname, '../../../deploy/device/edgeloop-launcher');

let root: string;
let agent: string;

/** A fake bundle: bin/edgeloop-agent prints which code it is, then runs `body`. */
async function fakeBundle(dir: string, name: string, body = 'exit 0'): Promise<void> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  await writeFile(join(dir, 'bin/edgeloop-agent'), `#!/bin/sh\necho "agent ${name} $*"\n${body}\n`, {
    mode: 0o755,
  });
}

async function launch(env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  return run(LAUNCHER, ['--config', 'x.json'], {
    env: {
      PATH: process.env.PATH,
      EDGELOOP_AGENT_DATA_DIR: root,
      EDGELOOP_FACTORY_DIR: join(root, 'factory'),
      EDGELOOP_UPDATE_MAX_BOOTS: '2',
      ...env,
    },
  }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/** The state right after the agent switched to slots/b for version 0.2.0, from slots/a. */
async function switched(body: string): Promise<void> {
  await fakeBundle(join(agent, 'slots/a'), 'old');
  await fakeBundle(join(agent, 'slots/b'), 'new', body);
  await symlink('slots/b', join(agent, 'current'));
  await writeFile(join(agent, 'trial'), '0.2.0\nslots/a\nslots/b\n');
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'edgeloop-launcher-'));
  agent = join(root, 'agent');
  await mkdir(agent);
  await fakeBundle(join(root, 'factory'), 'factory');
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('edgeloop-launcher', () => {
  it('runs the installed code when there is no slot, and passes the options on', async () => {
    expect((await launch()).out).toContain('agent factory --config x.json');
  });

  it('runs the slot `current` points at, and the installed code when that slot is unusable', async () => {
    await fakeBundle(join(agent, 'slots/a'), 'slot-a');
    await symlink('slots/a', join(agent, 'current'));
    expect((await launch()).out).toContain('agent slot-a');
    await rm(join(agent, 'slots/a'), { recursive: true });
    const r = await launch();
    expect(r.out).toContain('slot slots/a is unusable');
    expect(r.out).toContain('agent factory');
  });

  it('reverts a trial that keeps exiting before it confirms, and records why', async () => {
    await switched('exit 70');
    expect((await launch()).code).toBe(70);
    expect((await launch()).code).toBe(70);
    expect(await readFile(join(agent, 'boots'), 'utf8')).toBe('2\n');
    // Third start: two boots used up, back to the previous slot.
    const r = await launch();
    expect(r.out).toContain('reverted agent 0.2.0: crash-loop: started 2 times');
    expect(r.out).toContain('agent old');
    expect(await readlink(join(agent, 'current'))).toBe('slots/a');
    expect(await exists(join(agent, 'trial'))).toBe(false);
    expect(await exists(join(agent, 'boots'))).toBe(false);
    expect(JSON.parse(await readFile(join(agent, 'result'), 'utf8'))).toMatchObject({
      outcome: 'reverted',
      version: '0.2.0',
      reason: 'crash-loop: started 2 times without confirming healthy',
    });
  });

  it('stops and reverts a trial that runs but does not confirm within the deadline', async () => {
    await switched('exec sleep 30');
    const started = Date.now();
    const r = await launch({ EDGELOOP_UPDATE_DEADLINE_S: '2' });
    expect(r.code).toBe(75);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.out).toContain('reverted agent 0.2.0: not healthy within 2s');
    expect(await readlink(join(agent, 'current'))).toBe('slots/a');
  });

  it('lets a trial that confirms (removes the trial file) run on, and exits with its status', async () => {
    await switched(`rm "${join(agent, 'trial')}"; sleep 1; exit 0`);
    const r = await launch({ EDGELOOP_UPDATE_DEADLINE_S: '5' });
    expect(r.code).toBe(0);
    expect(await readlink(join(agent, 'current'))).toBe('slots/b');
    expect(await exists(join(agent, 'result'))).toBe(false);
  });

  it('drops a trial whose switch never happened (power cut between the trial file and the pointer)', async () => {
    await fakeBundle(join(agent, 'slots/a'), 'old');
    await fakeBundle(join(agent, 'slots/b'), 'new');
    await symlink('slots/a', join(agent, 'current'));
    await writeFile(join(agent, 'trial'), '0.2.0\nslots/a\nslots/b\n');
    const r = await launch();
    expect(r.out).toContain('agent old');
    expect(r.out).not.toContain('trial of');
    expect(await exists(join(agent, 'trial'))).toBe(false);
  });

  it('reverts to the installed code when the trial came from it', async () => {
    await fakeBundle(join(agent, 'slots/a'), 'new', 'exit 1');
    await symlink('slots/a', join(agent, 'current'));
    await writeFile(join(agent, 'trial'), '0.2.0\nfactory\nslots/a\n');
    await writeFile(join(agent, 'boots'), '2\n');
    const r = await launch();
    expect(r.out).toContain('agent factory');
    expect(await exists(join(agent, 'current'))).toBe(false);
  });
});
