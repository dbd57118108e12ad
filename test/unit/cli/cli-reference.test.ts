/**
 * The option definitions are the single source: docs/reference/cli.md must be what they render,
 * and every command's --help must list exactly the options it declares (plus -h/--help).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { COMMANDS } from '../../../cli/command-list.ts';
import { renderCliReference } from '../../../cli/docs/cli-reference.ts';
import { main } from '../../../cli/main.ts';
import { HELP_OPTION } from '../../../cli/options/option-types.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const CLI = resolve(ROOT, 'cli/edgeloop.mjs');

afterEach(() => {
  vi.restoreAllMocks();
});

/** The long option names in the Options section of a help text, in order. */
function helpOptions(help: string): string[] {
  const section = help.split('\nOptions:\n')[1]?.split('\n\n')[0] ?? '';
  return [...section.matchAll(/^ {2}(?:-\w, )?--([a-z0-9-]+)/gm)].map((m) => m[1]);
}

function declared(name: string): string[] {
  const command = COMMANDS.find((c) => c.name === name)!;
  return Object.keys({ ...command.options, ...HELP_OPTION });
}

async function helpInProcess(name: string): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => out.push(String(chunk)) > 0);
  const code = await main([name, '--help']);
  vi.restoreAllMocks();
  return { code, out: out.join('') };
}

describe('CLI reference', () => {
  it('docs/reference/cli.md is up to date with the command definitions (run `npm run docs:cli`)', async () => {
    const onDisk = await readFile(resolve(ROOT, 'docs/reference/cli.md'), 'utf8');
    expect(onDisk).toBe(renderCliReference(COMMANDS));
  });

  it('documents every command and every option', () => {
    const doc = renderCliReference(COMMANDS);
    for (const command of COMMANDS) {
      expect(doc).toContain(`## edgeloop ${command.name}\n`);
      const section = doc.split(`## edgeloop ${command.name}\n`)[1].split('\n## ')[0];
      for (const name of declared(command.name))
        expect(section, `${command.name} --${name}`).toContain(`--${name}`);
    }
  });

  it('lists every command once', () => {
    const names = COMMANDS.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('--help', () => {
  it.each(COMMANDS.map((c) => c.name))(
    'edgeloop %s --help lists exactly its declared options',
    async (name) => {
      const { code, out } = await helpInProcess(name);
      expect(code).toBe(0);
      expect(out).toMatch(/^Usage: /);
      expect(helpOptions(out)).toEqual(declared(name));
    },
  );

  it.each(['train', 'rollout', 'agent'])(
    'the real launcher prints the same help: node cli/edgeloop.mjs %s --help',
    async (name) => {
      const { stdout } = await promisify(execFile)(process.execPath, [CLI, name, '--help'], { cwd: ROOT });
      expect(helpOptions(stdout)).toEqual(declared(name));
      expect(stdout).toBe((await helpInProcess(name)).out);
    },
    30_000,
  );
});

describe('option errors', () => {
  async function run(argv: string[], env: Record<string, string | undefined> = {}) {
    const err: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => err.push(String(chunk)) > 0);
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
    const code = await main(argv);
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
    return { code, err: err.join('') };
  }

  it('a bad number names the option and exits 2', async () => {
    const { code, err } = await run(['train', '--data', 'x', '--epochs', 'ten']);
    expect(code).toBe(2);
    expect(err).toContain("--epochs must be a number, got 'ten'");
  });

  it('a value outside the choices names the option and the choices', async () => {
    const { code, err } = await run([
      'quantize',
      '--model',
      'a',
      '--calibration',
      'b',
      '--out',
      'c',
      '--method',
      'x',
    ]);
    expect(code).toBe(2);
    expect(err).toContain("--method must be one of minmax, percentile, entropy, got 'x'");
  });

  it('a missing required option is named', async () => {
    const { code, err } = await run(['evaluate', '--model', 'm']);
    expect(code).toBe(2);
    expect(err).toMatch(/--data is required/);
  });

  it('an unknown option is a usage error', async () => {
    const { code, err } = await run(['predict', '--colour', 'red']);
    expect(code).toBe(2);
    expect(err).toContain("Unknown option '--colour'");
  });

  it('a command talking to the control plane without URL or token fails with CONFIG_INVALID, exit 2', async () => {
    const { code, err } = await run(['model', 'aliases'], {
      EDGELOOP_URL: undefined,
      EDGELOOP_ADMIN_TOKEN: undefined,
    });
    expect(code).toBe(2);
    expect(err).toContain('--control-plane URL and --admin-token T');
    expect(err).toContain('[CONFIG_INVALID]');
  });
});
