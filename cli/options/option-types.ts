/**
 * How a command declares its options: once, as data. The parser (parse-command-args.ts), the
 * `--help` text (format-help.ts) and the Markdown reference (docs/cli-reference.ts) all read this.
 */

export type OptionType = 'string' | 'boolean' | 'number';

export interface OptionDef {
  type: OptionType;
  /** One-line description; help wraps it. Defaults and env vars are appended from the fields below. */
  description: string;
  /** Placeholder for the value in usage and help (`--data DIR`); defaults to the choices or `VALUE`. */
  value?: string;
  short?: string;
  default?: string | number | boolean;
  /** For help and docs when the default is computed at run time (e.g. "models/<name>-<timestamp>"). */
  defaultText?: string;
  /** Environment variable read when the flag is absent (the flag wins; the default comes last). */
  env?: string;
  /** The flag may be given several times; the value is an array. */
  multiple?: boolean;
  required?: boolean;
  /** Allowed values; for number options they are compared after conversion. */
  choices?: readonly (string | number)[];
  /** number options: whole numbers only, and an inclusive range. */
  integer?: boolean;
  min?: number;
  max?: number;
}

export type OptionDefs = Record<string, OptionDef>;

type BaseValue<D extends OptionDef> = D['choices'] extends readonly (infer C)[]
  ? C
  : D['type'] extends 'number'
    ? number
    : D['type'] extends 'boolean'
      ? boolean
      : string;

type Value<D extends OptionDef> = D['multiple'] extends true ? BaseValue<D>[] : BaseValue<D>;

/** Parsed values: present when the option has a default, is required or is repeatable. */
export type OptionValues<O extends OptionDefs> = {
  [K in keyof O]: O[K] extends { default: unknown } | { required: true } | { multiple: true }
    ? Value<O[K]>
    : Value<O[K]> | undefined;
};

export interface ParsedArgs<O extends OptionDefs> {
  values: OptionValues<O>;
  positionals: string[];
  /** Options given on the command line (not from env or defaults). */
  explicit: ReadonlySet<keyof O & string>;
}

export interface SubcommandDef {
  /** e.g. `create --model-version N (--devices ID,ID | --all)` */
  usage: string;
  summary: string;
}

export interface CommandDef<O extends OptionDefs = OptionDefs> {
  name: string;
  /** One line, shown by `edgeloop --help` and in the reference. */
  summary: string;
  /** Usage lines without the leading "Usage: ". */
  usage: string;
  /** Paragraphs (separated by a blank line) shown under the usage line. */
  description?: string;
  subcommands?: readonly SubcommandDef[];
  /** Positional arguments are accepted (always true with subcommands). */
  positionals?: boolean;
  options: O;
  /** Paragraphs shown after the options (environment, examples). */
  notes?: string;
  /**
   * Hand the arguments over unparsed (bench: each benchmark parses its own); only a first
   * argument of -h/--help prints this command's help.
   */
  passthrough?: boolean;
  /** Extra help text computed at run time (not in the static reference). */
  moreHelp?: () => Promise<string>;
  /** Method syntax on purpose: a list of commands with different options stays one type. */
  run(args: ParsedArgs<O>): Promise<number>;
}

/** Identity with inference: `const` keeps option names, literal choices and flags as types. */
export function defineCommand<const O extends OptionDefs>(def: CommandDef<O>): CommandDef<O> {
  return def;
}

/** The help flag every command has; parsed like any option but not declared by each command. */
export const HELP_OPTION = {
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies OptionDefs;
