/**
 * The one argv parser: node's util.parseArgs configured from a command's option definitions, then
 * env vars, defaults, type conversion and checks, each failure a ValidationError naming the flag.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { ValidationError } from '@edgeloop/shared';
import { formatHelp } from './format-help.ts';
import {
  type CommandDef,
  HELP_OPTION,
  type OptionDef,
  type OptionDefs,
  type ParsedArgs,
} from './option-types.ts';

type ParseArgsOptions = NonNullable<ParseArgsConfig['options']>;

/** The util.parseArgs `options` for these definitions (numbers arrive as strings and are converted here). */
export function toParseArgsOptions(defs: OptionDefs): ParseArgsOptions {
  const out: ParseArgsOptions = {};
  for (const [name, def] of Object.entries({ ...defs, ...HELP_OPTION })) {
    out[name] = {
      type: def.type === 'boolean' ? 'boolean' : 'string',
      ...(def.short ? { short: def.short } : {}),
      ...('multiple' in def && def.multiple ? { multiple: true } : {}),
    };
  }
  return out;
}

/** What a number option accepts, in words: "a whole number from 1 to 20". */
export function numberExpectation(def: OptionDef): string {
  const positive = def.integer && def.min === 1 && def.max === undefined;
  const kind = positive ? 'a positive integer' : def.integer ? 'a whole number' : 'a number';
  if (def.min !== undefined && def.max !== undefined) return `${kind} from ${def.min} to ${def.max}`;
  if (def.min !== undefined && !positive) return `${kind} of at least ${def.min}`;
  if (def.max !== undefined) return `${kind} of at most ${def.max}`;
  return kind;
}

function convert(def: OptionDef, raw: string | boolean, from: string): unknown {
  if (def.type === 'boolean') {
    if (typeof raw === 'boolean') return raw;
    // Only env vars reach here with text.
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off|)$/i.test(raw)) return false;
    throw new ValidationError(`${from} must be true or false, got '${raw}'`);
  }
  const text = String(raw);
  let value: string | number = text;
  if (def.type === 'number') {
    const n = Number(text);
    const inRange =
      text.trim() !== '' &&
      Number.isFinite(n) &&
      (!def.integer || Number.isInteger(n)) &&
      (def.min === undefined || n >= def.min) &&
      (def.max === undefined || n <= def.max);
    if (!inRange) throw new ValidationError(`${from} must be ${numberExpectation(def)}, got '${text}'`);
    value = n;
  }
  if (def.choices && !def.choices.includes(value)) {
    throw new ValidationError(`${from} must be one of ${def.choices.join(', ')}, got '${text}'`);
  }
  return value;
}

/** A parseArgs TypeError (unknown option, missing value, stray positional) as a usage error. */
function usageError(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (!(err instanceof TypeError) || !code?.startsWith('ERR_PARSE_ARGS_')) return err;
  // parseArgs appends advice about '--' that does not help here; keep the sentence naming the option.
  return new ValidationError(err.message.split('. ')[0].replace(/\.$/, ''), { code });
}

/** `help: true` when -h/--help was given: the caller prints help and no other check runs. */
export function parseCommandArgs<O extends OptionDefs>(
  command: CommandDef<O>,
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): ParsedArgs<O> & { help: boolean } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: toParseArgsOptions(command.options),
      allowPositionals: command.positionals === true || command.subcommands !== undefined,
      strict: true,
    });
  } catch (err) {
    throw usageError(err);
  }
  const raw = parsed.values as Record<string, string | boolean | (string | boolean)[] | undefined>;
  const explicit = new Set(Object.keys(raw).filter((k) => k !== 'help'));
  if (raw.help) {
    return { help: true, values: {} as ParsedArgs<O>['values'], positionals: parsed.positionals, explicit };
  }
  const values: Record<string, unknown> = {};
  const missing: string[] = [];
  for (const [name, def] of Object.entries(command.options)) {
    const given = raw[name];
    const fromEnv = def.env ? env[def.env] : undefined;
    if (given !== undefined) {
      values[name] = Array.isArray(given)
        ? given.map((g) => convert(def, g, `--${name}`))
        : convert(def, given, `--${name}`);
    } else if (fromEnv !== undefined && fromEnv !== '') {
      const value = convert(def, fromEnv, `${def.env} (for --${name})`);
      values[name] = def.multiple ? [value] : value;
    } else if (def.default !== undefined) {
      values[name] = def.multiple ? [def.default] : def.default;
    } else if (def.multiple) {
      values[name] = [];
    }
    if (def.required && values[name] === undefined) missing.push(`--${name}`);
  }
  if (missing.length > 0) {
    const list =
      missing.length === 1 ? missing[0] : `${missing.slice(0, -1).join(', ')} and ${missing.at(-1)}`;
    throw new ValidationError(
      `${list} ${missing.length === 1 ? 'is' : 'are'} required\n\n${formatHelp(command as CommandDef)}`,
    );
  }
  return {
    help: false,
    values: values as ParsedArgs<O>['values'],
    positionals: parsed.positionals,
    explicit: explicit as Set<keyof O & string>,
  };
}
