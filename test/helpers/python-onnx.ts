/**
 * Finds a Python that has the `onnx` package (Debian's python3-onnx lives under /usr/bin/python3,
 * which a pyenv shim earlier on PATH would hide). Under CI the checker is required, so a missing
 * one fails the run instead of quietly skipping the checks.
 */
import { spawnSync } from 'node:child_process';

function find(): string | null {
  const candidates = [process.env.EDGELOOP_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean) as string[];
  for (const python of candidates) {
    if (spawnSync(python, ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0) return python;
  }
  if (process.env.CI)
    throw new Error('CI needs python3 with the onnx package (apt-get install python3-onnx)');
  console.warn('no python3 with the onnx package: onnx.checker validation is skipped');
  return null;
}

export const pythonWithOnnx: string | null = find();
