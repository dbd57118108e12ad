/**
 * Rollouts end to end with the real control plane, its broker and three real agents: a healthy
 * version goes canary-first and then to everyone; a corrupt file, a tampered manifest, a model
 * that fails its smoke test and a model whose field confidence collapses each stop at the canary,
 * which is rolled back; the control plane with its broker restarts mid-rollout; a device that was
 * offline catches up when it returns. The tests run in order on one fleet.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Rollout } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { rolloutCommand } from '../../../cli/commands/rollout.ts';
import { runCommand } from '../../../cli/options/run-command.ts';
import { type Fleet, fastStrategy, fleetModel, startFleet, waitUntil } from './fleet.ts';

let fleet: Fleet;

function device(r: Rollout, id: string) {
  return r.devices.find((d) => d.deviceId === id)!;
}

/** Resolves once every running agent has classified `n` frames with `version`. */
async function predictionsOn(version: number, n: number): Promise<void> {
  await Promise.all(
    [...fleet.agents.values()].map(
      (agent) =>
        new Promise<void>((resolve) => {
          let seen = 0;
          const off = agent.onEvent((e) => {
            if (e.type === 'prediction' && e.prediction.modelVersion === version && ++seen >= n) {
              off();
              resolve();
            }
          });
        }),
    ),
  );
}

beforeAll(async () => {
  fleet = await startFleet(3);
  await fleet.publish(1, fleetModel('confident', 1));
  await fleet.api.assign(1, { all: true });
  await waitUntil(
    async () =>
      (await Promise.all(fleet.ids.map((id) => fleet.reported(id)))).every(
        (r) => r.version === 1 && r.status === 'running',
      ),
    'every device on version 1',
  );
  await predictionsOn(1, 8);
}, 60_000);

afterAll(async () => {
  await fleet?.close();
});

describe('rollouts over MQTT with real agents', () => {
  it('sends a healthy version to the canary first, then to the rest, with every state recorded', async () => {
    await fleet.publish(2, fleetModel('confident', 2));
    const created = await fleet.api.createRollout({
      modelVersion: 2,
      target: { all: true },
      strategy: fastStrategy(),
    });
    expect(created.waves.map((w) => w.devices)).toEqual([1, 2]);
    const canary = created.devices.find((d) => d.wave === 0)!.deviceId;
    const done = await fleet.rolloutUntil(
      created.rolloutId,
      (r) => r.state === 'completed',
      'rollout v2 done',
    );

    for (const id of fleet.ids) expect((await fleet.reported(id)).version).toBe(2);
    expect(done.counts).toEqual({ active: 3 });
    for (const d of done.devices) {
      const states = d.history.map((h) => h.state);
      expect(states[0]).toBe('queued');
      expect(states).toEqual(expect.arrayContaining(['notified', 'downloading', 'verifying', 'installed']));
      expect(states.at(-1)).toBe('active');
      expect(d.history.every((h) => !Number.isNaN(Date.parse(h.at)))).toBe(true);
    }
    // Shadow mode ran the candidate beside version 1 and the agreement reached the control plane.
    const shadow = device(done, canary).history.find((h) => h.reason?.startsWith('shadow agreement'));
    expect(shadow?.reason).toMatch(/shadow agreement with version 1: 100\.0% of [1-9]\d* frames/);
    // Nobody outside the canary heard of version 2 before the canary's wave passed its soak.
    const canaryActive = Date.parse(device(done, canary).history.at(-1)!.at);
    for (const d of done.devices.filter((x) => x.deviceId !== canary)) {
      const notified = Date.parse(d.history.find((h) => h.state === 'notified')!.at);
      expect(notified).toBeGreaterThanOrEqual(canaryActive + 1_000);
    }
    // The behaviour gates compared real field confidence of version 2 with version 1.
    const drop = done.waves[0].checks!.find((c) => c.name === 'mean-confidence-drop')!;
    expect(drop.value).not.toBeNull();
    expect(Math.abs(drop.value!)).toBeLessThan(0.01);
  });

  const sabotage = {
    'a corrupt model file': async (version: number) => {
      const path = join(fleet.t.dataDir, 'objects', 'models', String(version), 'model.onnx');
      const bytes = await readFile(path);
      bytes[bytes.length - 5] ^= 0xff; // same length, different sha256
      await writeFile(path, bytes);
      return fleetModel('confident', version);
    },
    'a tampered manifest (bad signature)': async (version: number) => {
      // Through the store, so the same tampering happens on SQLite and on Postgres.
      const stored = await fleet.t.cp.store.models.get(version);
      if (!stored) throw new Error(`version ${version} is not stored`);
      await fleet.t.cp.store.models.updateManifest(version, { ...stored.manifest, labels: ['blue', 'red'] });
      return null;
    },
  } as const;

  it.each([
    {
      what: 'a corrupt model file',
      version: 3,
      model: fleetModel('confident', 3),
      code: 'CHECKSUM_MISMATCH',
    },
    {
      what: 'a tampered manifest (bad signature)',
      version: 4,
      model: fleetModel('confident', 4),
      code: 'MANIFEST_SIGNATURE_INVALID',
    },
    {
      what: 'a model that fails its smoke test',
      version: 5,
      model: fleetModel('nan', 5),
      code: 'MODEL_INVALID',
    },
    {
      what: 'a model whose field confidence collapses',
      version: 6,
      model: fleetModel('collapsed', 6),
      code: null,
    },
  ])('stops $what at the canary and rolls the canary back', async ({ what, version, model, code }) => {
    await fleet.publish(version, model);
    if (what in sabotage) await sabotage[what as keyof typeof sabotage](version);
    const created = await fleet.api.createRollout({
      modelVersion: version,
      target: { all: true },
      strategy: fastStrategy(),
    });
    const canary = created.devices.find((d) => d.wave === 0)!.deviceId;
    const aborted = await fleet.rolloutUntil(
      created.rolloutId,
      (r) => r.state === 'aborted' && device(r, canary).state === 'rolled_back',
      `rollout v${version} aborted and canary rolled back`,
    );
    const states = device(aborted, canary).history.map((h) => h.state);
    if (code) {
      expect(states).toContain('failed');
      expect(device(aborted, canary).history.find((h) => h.state === 'failed')!.reason).toContain(code);
    } else {
      // It installed fine; the field-confidence gate caught it after the soak.
      expect(states).toContain('active');
      expect(aborted.waves[0].checks!.filter((c) => !c.passed).map((c) => c.name)).toEqual(
        expect.arrayContaining(['mean-confidence-drop', 'low-confidence-rate-rise']),
      );
    }
    expect(states.slice(-2)).toEqual(['rolling_back', 'rolled_back']);
    // The other devices were never told; every device runs version 2.
    for (const d of aborted.devices.filter((x) => x.deviceId !== canary)) expect(d.state).toBe('queued');
    await waitUntil(
      async () =>
        (await Promise.all(fleet.ids.map((id) => fleet.reported(id)))).every((r) => r.version === 2),
      'fleet on version 2',
    );
  });

  it('finishes a rollout across a restart of the control plane and its broker', async () => {
    await fleet.publish(7, fleetModel('confident', 7));
    const created = await fleet.api.createRollout({
      modelVersion: 7,
      target: { all: true },
      strategy: fastStrategy({ soakSeconds: 2 }),
    });
    await fleet.rolloutUntil(created.rolloutId, (r) => r.waves[0].state === 'soaking', 'canary soaking');
    await fleet.restartControlPlane();
    const done = await fleet.rolloutUntil(
      created.rolloutId,
      (r) => r.state === 'completed',
      'rollout v7 done',
    );
    expect(done.counts).toEqual({ active: 3 });
    for (const id of fleet.ids) expect((await fleet.reported(id)).version).toBe(7);
  });

  it('lets a device that was offline catch up when it returns', async () => {
    const away = fleet.ids[2];
    await fleet.stopAgent(away);
    await waitUntil(
      async () => (await fleet.t.cp.store.devices.get(away))?.online === false,
      'device offline',
    );
    await fleet.publish(8, fleetModel('confident', 8));
    const created = await fleet.api.createRollout({
      modelVersion: 8,
      target: { all: true },
      strategy: fastStrategy({ waves: [{ percent: 100 }], soakSeconds: 0.5, deviceTimeoutSeconds: 2 }),
    });
    // Offline devices go last; it times out, which does not count as a failure by default.
    expect(created.devices.at(-1)!.deviceId).toBe(away);
    const done = await fleet.rolloutUntil(
      created.rolloutId,
      (r) => r.state === 'completed',
      'rollout v8 done',
    );
    expect(device(done, away).state).toBe('timed_out');

    await fleet.startAgent(away);
    const caughtUp = await fleet.rolloutUntil(
      created.rolloutId,
      (r) => device(r, away).state === 'active',
      'offline device active',
    );
    expect(device(caughtUp, away).history.map((h) => h.state)).toEqual(
      expect.arrayContaining(['timed_out', 'active']),
    );
    expect((await fleet.reported(away)).version).toBe(8);
  });

  it('is operated from the CLI: create, status, pause, resume, abort rolls the canary back', async () => {
    const cli = async (...args: string[]) => {
      const out: string[] = [];
      const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
        out.push(String(chunk));
        return true;
      });
      try {
        const code = await runCommand(rolloutCommand, [
          ...args,
          '--control-plane',
          fleet.t.cp.httpUrl,
          '--admin-token',
          fleet.t.cp.adminToken,
        ]);
        expect(code).toBe(0);
      } finally {
        spy.mockRestore();
      }
      return out.join('');
    };
    await fleet.publish(9, fleetModel('confident', 9));
    const created = JSON.parse(
      await cli('create', '--model-version', '9', '--all', '--waves', '1,100%', '--soak', '30', '--json'),
    ) as Rollout;
    const id = created.rolloutId;
    const canary = created.devices[0].deviceId;
    await fleet.rolloutUntil(id, (r) => device(r, canary).state === 'active', 'canary active');
    expect(JSON.parse(await cli('pause', id, '--reason', 'lunch', '--json'))).toMatchObject({
      state: 'paused',
      reason: 'lunch',
    });
    expect(await cli('status')).toContain(`${id}  version 9  paused`);
    expect(JSON.parse(await cli('resume', id, '--json')).state).toBe('running');
    const text = await cli('abort', id, '--reason', 'operator says no');
    expect(text).toContain('aborted');
    expect(text).toContain('operator says no');
    await fleet.rolloutUntil(
      id,
      (r) => device(r, canary).state === 'rolled_back',
      'canary rolled back by the CLI',
    );
    await waitUntil(
      async () => (await Promise.all(fleet.ids.map((x) => fleet.reported(x)))).every((r) => r.version === 8),
      'fleet back on version 8',
    );
  });
  it('reaches only the tagged device when a rollout targets a tag (from the CLI)', async () => {
    const [tagged, ...others] = fleet.ids;
    const res = await fetch(`${fleet.t.cp.httpUrl}/api/v1/devices/${tagged}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${fleet.t.cp.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ protocol: 1, tags: ['outdoor', 'site-a'] }),
    });
    expect(res.status).toBe(200);
    await fleet.publish(10, fleetModel('confident', 10));
    const before = new Map(
      (await fleet.t.cp.store.devices.getMany(others)).map((d) => [d.deviceId, d.desiredVersion]),
    );
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    try {
      const args = ['create', '--model-version', '10', '--tags', 'site-a,outdoor', '--waves', '100%'];
      const code = await runCommand(rolloutCommand, [
        ...args,
        ...['--soak', '0.5', '--json', '--control-plane', fleet.t.cp.httpUrl],
        ...['--admin-token', fleet.t.cp.adminToken],
      ]);
      expect(code).toBe(0);
    } finally {
      spy.mockRestore();
    }
    const created = JSON.parse(out.join('')) as Rollout;
    expect(created.target).toEqual({ tags: ['site-a', 'outdoor'] });
    expect(created.devices.map((d) => d.deviceId)).toEqual([tagged]);
    await fleet.rolloutUntil(created.rolloutId, (r) => r.state === 'completed', 'tag rollout done');
    expect((await fleet.reported(tagged)).version).toBe(10);
    // The untagged devices were never told about version 10.
    for (const id of others) {
      expect((await fleet.reported(id)).version).not.toBe(10);
      expect((await fleet.t.cp.store.devices.get(id))!.desiredVersion).toBe(before.get(id));
    }
  });
});
