/** `--help` text, generated from a command's definition. */
import { type CommandDef, HELP_OPTION, type OptionDef } from './option-types.ts';

const WIDTH = 100;

/** Greedy word wrap to `width` columns of text; lines after the first are prefixed with `indent`. */
export function wrap(text: string, width: number, indent = ''): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.join(`\n${indent}`);
}

function paragraphs(text: string): string {
  return text
    .split(/\n\s*\n/)
    .map((p) => wrap(p, WIDTH))
    .join('\n\n');
}

/** The value placeholder: `DIR`, or the choices `on|off`. */
export function placeholder(def: OptionDef): string {
  return def.value ?? (def.choices ? def.choices.join('|') : 'VALUE');
}

/** `-h, --help`, `--data DIR`. */
export function flagText(name: string, def: OptionDef): string {
  const long = def.type === 'boolean' ? `--${name}` : `--${name} ${placeholder(def)}`;
  return def.short ? `-${def.short}, ${long}` : long;
}

/** What a default looks like to a person: the value, or the text for a computed one. */
export function defaultText(def: OptionDef): string | undefined {
  if (def.defaultText !== undefined) return def.defaultText;
  if (def.default === undefined || def.default === false) return undefined;
  return String(def.default);
}

/** The description with its default, env var and repeatability, as help and docs show them. */
export function describeOption(def: OptionDef): string {
  const extras = [
    def.required ? 'required' : undefined,
    defaultText(def) !== undefined ? `default: ${defaultText(def)}` : undefined,
    def.env ? `env ${def.env}` : undefined,
    def.multiple ? 'repeatable' : undefined,
  ].filter(Boolean);
  return extras.length ? `${def.description} (${extras.join('; ')})` : def.description;
}

export function formatHelp(command: CommandDef): string {
  const out = [`Usage: ${command.usage.split('\n').join('\n       ')}`, ''];
  if (command.description) out.push(paragraphs(command.description), '');
  if (command.subcommands?.length) {
    // Long usages get their own line, so they do not widen the column for the rest.
    const column = Math.max(...command.subcommands.map((s) => s.usage.length).filter((n) => n <= 36));
    out.push('Commands:');
    for (const s of command.subcommands) {
      const head = `  ${s.usage}`;
      out.push(
        s.usage.length > column
          ? `${head}\n${' '.repeat(column + 4)}${wrap(s.summary, WIDTH - column - 4, ' '.repeat(column + 4))}`
          : `  ${s.usage.padEnd(column)}  ${wrap(s.summary, WIDTH - column - 4, ' '.repeat(column + 4))}`,
      );
    }
    out.push('');
  }
  const options = Object.entries({ ...command.options, ...HELP_OPTION }).map(
    ([name, def]) => [flagText(name, def), describeOption(def)] as const,
  );
  const width = Math.max(...options.map(([flags]) => flags.length));
  out.push('Options:');
  for (const [flags, text] of options) {
    out.push(`  ${flags.padEnd(width)}  ${wrap(text, WIDTH - width - 4, ' '.repeat(width + 4))}`);
  }
  out.push('');
  if (command.notes) out.push(paragraphs(command.notes), '');
  return out.join('\n');
}
