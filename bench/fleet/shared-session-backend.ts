/**
 * onnxruntime for thousands of simulated devices in one process: each device still downloads,
 * verifies and writes its own copy of the model, and its smoke test still runs in a real session,
 * but devices holding byte-identical files share that session (keyed by the file's sha256) —
 * a session per device would need tens of gigabytes for a fleet of 10,000.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { InferenceBackend, ModelSession } from '../../agent/src/inference/inference-backend.ts';
import { createOnnxBackend } from '../../agent/src/inference/onnx-backend.ts';

export function createSharedSessionBackend(): InferenceBackend {
  const real = createOnnxBackend({ inProcess: true });
  const sessions = new Map<string, Promise<ModelSession>>();
  return {
    prepare: () => real.prepare(),
    async createSession(modelPath, options) {
      const key = `${createHash('sha256')
        .update(await readFile(modelPath))
        .digest('hex')}:${options.threads}`;
      let session = sessions.get(key);
      if (!session) {
        session = real.createSession(modelPath, options);
        sessions.set(key, session);
        session.catch(() => sessions.delete(key));
      }
      const shared = await session;
      // Released by the process's end, not by any one device.
      return { ...shared, release: async () => {} };
    },
  };
}
