/** The example configs in deploy/ are what operators copy: they must load, and mistakes must be named. */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { agentCommand } from '../../../cli/commands/agent.ts';
import { runCommand } from '../../../cli/options/run-command.ts';

const DEPLOY = resolve(import.meta.dirname, '../../../deploy/config');

afterEach(() => {
  vi.restoreAllMocks();
});

describe('agent example configs', () => {
  it.each([
    ['agent.json', 'camera folder'],
    ['agent-pi.json', 'camera rpicam'],
    ['agent-jetson.json', 'camera jetson-csi'],
    ['agent-cameras.json', 'cameras dock-north: rtsp, dock-south: rtsp, gate: v4l2'],
    ['agent-container.json', 'camera ffmpeg'],
  ])('%s passes `edgeloop agent --check`', async (file, camera) => {
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((text: string) => out.push(text));
    expect(await runCommand(agentCommand, ['--config', join(DEPLOY, file), '--check'])).toBe(0);
    expect(out.join('\n')).toMatch(new RegExp(`config OK \\(${camera}`));
  });

  it('names the bad key of a broken camera section', async () => {
    const config = JSON.parse(await readFile(join(DEPLOY, 'agent-pi.json'), 'utf8'));
    config.camera.fps = 500;
    config.frames.roi = { x: 0.8, y: 0, width: 0.5, height: 1 };
    const file = join(await mkdtemp(join(tmpdir(), 'edgeloop-cfg-')), 'agent.json');
    await writeFile(file, JSON.stringify(config));
    await expect(runCommand(agentCommand, ['--config', file, '--check'])).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/camera\.fps: .*frames\.roi: region must lie inside the frame/s),
    });
  });
});
