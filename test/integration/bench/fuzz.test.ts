/**
 * The fuzz bench, bounded (~1000 inputs instead of 10,000): every route of the contract, every
 * device topic, both upload routes and the manifest verifier get hostile inputs, and none may
 * crash the control plane, answer 5xx, or change state while being refused. A second test shows
 * the state check can fail: a refused-looking input that does write is caught.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFuzzTarget } from '../../../bench/fuzz/fuzz-target.ts';
import { Recorder } from '../../../bench/fuzz/recorder.ts';
import { runFuzz } from '../../../bench/fuzz/run-fuzz.ts';
import { openStateReader } from '../../../bench/fuzz/state-digest.ts';

describe('fuzzing (bounded)', () => {
  it('finds no crash, no 5xx and no state changed by a refused input in ~1000 inputs', {
    timeout: 240_000,
  }, async () => {
    const figures = await runFuzz({ inputs: 1000, seed: 7 });
    expect(figures.defects).toEqual([]);
    expect(figures).toMatchObject({
      crashes: 0,
      unexpected5xx: 0,
      stateChangedByRejected: 0,
      otherDefects: 0,
    });
    expect(figures.inputs).toBeGreaterThanOrEqual(1000);
    expect(Object.keys(figures.byArea)).toEqual(['http', 'mqtt', 'uploads', 'manifests']);
    // Most inputs are hostile and refused; some schema-built ones are accepted.
    expect(figures.rejected).toBeGreaterThan(figures.inputs / 2);
  });

  it('notices when an input that was refused (as far as the client can tell) changed state', {
    timeout: 60_000,
  }, async () => {
    const root = await mkdtemp(join(tmpdir(), 'edgeloop-fuzz-check-'));
    const target = await startFuzzTarget(root);
    const state = openStateReader(join(target.dataDir, 'control-plane.db'), join(target.dataDir, 'objects'));
    try {
      const recorder = new Recorder(state, target);
      const post = (body: string) =>
        fetch(`${target.httpUrl}/api/v1/enrollment-tokens`, {
          method: 'POST',
          headers: { authorization: `Bearer ${target.adminToken}`, 'content-type': 'application/json' },
          body,
        });
      await recorder.batch('refused for real', [
        async () => ({ rejected: (await post('{"protocol":"x"}')).status >= 400, unexpected: null }),
      ]);
      expect(recorder.stateChangedByRejected).toBe(0);
      // Accepted by the server, but reported as refused: the digest must differ.
      await recorder.batch('accepted, reported refused', [
        async () => ({ rejected: (await post('{"protocol":1}')).status < 400, unexpected: null }),
      ]);
      expect(recorder.stateChangedByRejected).toBe(1);
      expect(recorder.defects[0]).toMatch(/enrollment_tokens/);
    } finally {
      state.close();
      await target.stop();
      await rm(root, { recursive: true, force: true });
    }
  });
});
