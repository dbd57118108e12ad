import { describe, expect, it } from 'vitest';
import { ACTOR_OPTION, CONNECTION_OPTIONS, loopClient } from '../../../cli/options/connection-options.ts';
import { defineCommand } from '../../../cli/options/option-types.ts';
import { parseCommandArgs, toParseArgsOptions } from '../../../cli/options/parse-command-args.ts';

const command = defineCommand({
  name: 'example',
  summary: 'an example',
  usage: 'edgeloop example [options]',
  positionals: true,
  options: {
    ...CONNECTION_OPTIONS,
    ...ACTOR_OPTION,
    count: {
      type: 'number',
      value: 'N',
      integer: true,
      min: 1,
      max: 20,
      default: 3,
      description: 'how many',
    },
    mode: { type: 'string', choices: ['fast', 'slow'], default: 'fast', description: 'how' },
    tag: { type: 'string', value: 'T', multiple: true, description: 'a tag' },
    dry: { type: 'boolean', description: 'do nothing' },
  },
  run: async () => 0,
});

describe('parseCommandArgs', () => {
  it('derives the util.parseArgs config from the definitions', () => {
    expect(toParseArgsOptions(command.options)).toMatchObject({
      count: { type: 'string' },
      dry: { type: 'boolean' },
      tag: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    });
  });

  it('converts, applies defaults and keeps what was given explicitly', () => {
    const args = parseCommandArgs(command, ['--count', '7', '--tag', 'a', '--tag', 'b', 'file'], {});
    expect(args.values).toMatchObject({ count: 7, mode: 'fast', tag: ['a', 'b'], actor: 'admin' });
    expect(args.values.dry).toBeUndefined();
    expect(args.positionals).toEqual(['file']);
    expect([...args.explicit].sort()).toEqual(['count', 'tag']);
  });

  it('takes env vars when the flag is absent; the flag wins', () => {
    const env = { EDGELOOP_URL: 'http://cp:1', EDGELOOP_ADMIN_TOKEN: 'tok', EDGELOOP_ACTOR: 'ana' };
    const fromEnv = parseCommandArgs(command, [], env).values;
    expect(fromEnv).toMatchObject({ 'control-plane': 'http://cp:1', 'admin-token': 'tok', actor: 'ana' });
    const client = loopClient(fromEnv);
    expect(client.actor).toBe('ana');
    expect(client.baseUrl).toBe('http://cp:1');
    expect(parseCommandArgs(command, ['--actor', 'bo'], env).values.actor).toBe('bo');
  });

  it('names the option in every error', () => {
    expect(() => parseCommandArgs(command, ['--count', '0'], {})).toThrow(
      "--count must be a whole number from 1 to 20, got '0'",
    );
    expect(() => parseCommandArgs(command, ['--count', '2.5'], {})).toThrow('--count must be a whole number');
    expect(() => parseCommandArgs(command, ['--mode', 'warp'], {})).toThrow(
      "--mode must be one of fast, slow, got 'warp'",
    );
    expect(() => parseCommandArgs(command, ['--count'], {})).toThrow(/--count/);
    expect(() => parseCommandArgs(command, ['--nope'], {})).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED', message: expect.stringContaining("'--nope'") }),
    );
  });

  it('reports --help without checking anything else', () => {
    expect(parseCommandArgs(command, ['--count', 'x', '--help'], {}).help).toBe(true);
  });

  it('a missing URL or token is a named config error', () => {
    expect(() => loopClient(parseCommandArgs(command, [], {}).values)).toThrow(
      expect.objectContaining({ name: 'ConfigError', code: 'CONFIG_INVALID' }),
    );
  });
});
