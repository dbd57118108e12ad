/**
 * Execution providers on a machine without CUDA or TensorRT (npm's onnxruntime-node has their
 * bindings listed but not their libraries): "auto" falls back to the CPU and says so; a config
 * that insists on a GPU provider (a list without cpu) is a start-up error the operator can read —
 * a non-zero exit with the error's code and every provider's reason, before anything starts.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateSigningKey } from '@edgeloop/shared';
import { afterAll, describe, expect, it } from 'vitest';
import { chooseProvider, createOnnxBackend } from '../../../agent/src/inference/onnx-backend.ts';
import { CliProcess } from '../../helpers/cli-process.ts';
import { redBlueClassifier } from '../../helpers/tiny-onnx.ts';
import { tempDir } from '../control-plane/helpers.ts';

const dir = tempDir();
afterAll(() => dir.remove());

describe('execution providers', () => {
  it('auto tries tensorrt and cuda, falls back to the CPU, and sessions report it', async () => {
    const choice = await chooseProvider(['tensorrt', 'cuda', 'cpu']);
    expect(choice.provider).toBe('cpu');
    expect(choice.skipped.map((s) => s.provider)).toEqual(['tensorrt', 'cuda']);
    expect(choice.skipped.every((s) => s.reason.length > 0)).toBe(true);

    const backend = createOnnxBackend({ executionProviders: 'auto' });
    expect(await backend.prepare()).toBe('cpu');
    const path = join(dir.path, 'model.onnx');
    await writeFile(path, redBlueClassifier());
    const session = await backend.createSession(path, { threads: 1 });
    try {
      expect(session.executionProvider).toBe('cpu');
    } finally {
      await session.release();
    }
  });

  it('a list without cpu whose providers do not load is a named start-up error', async () => {
    await expect(createOnnxBackend({ executionProviders: ['cuda'] }).prepare()).rejects.toMatchObject({
      code: 'EXECUTION_PROVIDER_UNAVAILABLE',
      message: expect.stringMatching(/cuda: .+; add "cpu"/),
    });
  });

  it('the agent process exits non-zero with that error before it starts anything', async () => {
    const key = generateSigningKey();
    const dataDir = join(dir.path, 'agent');
    const configPath = join(dir.path, 'agent.json');
    await writeFile(
      configPath,
      JSON.stringify({
        // Never reached: the provider is checked first.
        controlPlaneUrl: 'http://127.0.0.1:9',
        enrollmentToken: 'unused',
        dataDir,
        trustedKeys: [{ keyId: key.keyId, publicKeyPem: key.publicKeyPem }],
        inference: { executionProviders: ['tensorrt', 'cuda'] },
        logLevel: 'info',
      }),
    );
    const agent = new CliProcess('agent', ['--config', configPath]);
    const exit = await agent.exited;
    expect(exit.code, agent.tail()).toBe(1);
    const stderr = agent.lines.filter((l) => l.stream === 'stderr').map((l) => l.msg ?? '');
    expect(stderr.join('\n')).toMatch(/EXECUTION_PROVIDER_UNAVAILABLE/);
    expect(stderr.join('\n')).toMatch(/tensorrt: .*cuda: /);
    // Nothing was started: no data folder, no enrollment attempt.
    expect(existsSync(dataDir)).toBe(false);
    expect(agent.lines.some((l) => /enroll/i.test(l.msg ?? ''))).toBe(false);
  }, 60_000);
});
