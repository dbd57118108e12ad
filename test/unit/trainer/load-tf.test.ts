import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** loadTf in a fresh process (it initialises once per process): its name and Conv2D's kernel. */
async function loadIn(env: Record<string, string>): Promise<{ name: string; fastConv: boolean }> {
  const script = `
    const { loadTf } = await import('./trainer/src/tf/load-tf.ts');
    const { tf, name } = await loadTf({ preferNative: false });
    console.log(JSON.stringify({ name, fastConv: 'edgeloopStock' in tf.getKernel('Conv2D', 'cpu') }));
  `;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    {
      cwd: root,
      env: { ...process.env, ...env },
    },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
}

describe('loadTf without tfjs-node', () => {
  it('uses the fast kernels on WebAssembly SIMD by default and names them', async () => {
    expect(await loadIn({})).toEqual({ name: 'cpu+edgeloop-simd', fastConv: true });
  }, 30_000);

  it('keeps the stock kernels with EDGELOOP_FAST_KERNELS=0', async () => {
    expect(await loadIn({ EDGELOOP_FAST_KERNELS: '0' })).toEqual({ name: 'cpu', fastConv: false });
  }, 30_000);
});
