import { afterEach, describe, expect, it, vi } from 'vitest';
import { agentCommand } from '../../../agent/src/cli.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('edgeloop agent', () => {
  it('prints its options with --help', async () => {
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((text: string) => out.push(text));
    expect(await agentCommand(['--help'])).toBe(0);
    expect(out.join('\n')).toMatch(/--enrollment-token T/);
  });

  it('names every missing config key before it touches the network', async () => {
    await expect(agentCommand(['--data-dir', '/tmp/edgeloop-never-used'])).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/controlPlaneUrl.*trustedKeys|trustedKeys.*controlPlaneUrl/s),
    });
  });

  it('rejects unknown flags', async () => {
    await expect(agentCommand(['--colour'])).rejects.toMatchObject({ code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' });
  });
});
