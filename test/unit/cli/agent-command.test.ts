import { afterEach, describe, expect, it, vi } from 'vitest';
import { agentCommand } from '../../../cli/commands/agent.ts';
import { runCommand } from '../../../cli/options/run-command.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('edgeloop agent', () => {
  it('prints its options with --help', async () => {
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((text) => out.push(String(text)) > 0);
    expect(await runCommand(agentCommand, ['--help'])).toBe(0);
    expect(out.join('')).toMatch(/--enrollment-token T/);
  });

  it('names every missing config key before it touches the network', async () => {
    await expect(runCommand(agentCommand, ['--data-dir', '/tmp/edgeloop-never-used'])).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/controlPlaneUrl.*trustedKeys|trustedKeys.*controlPlaneUrl/s),
    });
  });

  it('rejects unknown flags as a usage error naming the flag', async () => {
    await expect(runCommand(agentCommand, ['--colour'])).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining("'--colour'"),
    });
  });
});
