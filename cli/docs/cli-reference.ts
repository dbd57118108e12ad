/** The Markdown CLI reference (docs/reference/cli.md), rendered from the command definitions. */
import { defaultText, flagText } from '../options/format-help.ts';
import { type CommandDef, HELP_OPTION, type OptionDef } from '../options/option-types.ts';

/** Plain text as Markdown: `<class>` must not read as an HTML tag, nor `*.jpg … *.jpg` as emphasis. */
const prose = (text: string) => text.replace(/[<>*]/g, (c) => `\\${c}`);
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (text: string) => `\`${text.replace(/`/g, "'")}\``;

function optionRow(name: string, def: OptionDef): string {
  const notes = [def.required ? 'required' : '', def.multiple ? 'repeatable' : ''].filter(Boolean);
  const description = prose(notes.length ? `${def.description} (${notes.join(', ')})` : def.description);
  const fallback = defaultText(def);
  return `| ${cell(code(flagText(name, def)))} | ${cell(description)} | ${fallback === undefined ? '' : cell(code(fallback))} | ${def.env ? code(def.env) : ''} |`;
}

function commandSection(command: CommandDef): string {
  const out = [
    `## edgeloop ${command.name}`,
    '',
    prose(command.summary),
    '',
    '```',
    command.usage,
    '```',
    '',
  ];
  if (command.description) out.push(prose(command.description), '');
  if (command.subcommands?.length) {
    out.push('| Subcommand | What it does |', '| --- | --- |');
    for (const s of command.subcommands) out.push(`| ${cell(code(s.usage))} | ${cell(prose(s.summary))} |`);
    out.push('');
  }
  out.push('| Option | Description | Default | Env |', '| --- | --- | --- | --- |');
  for (const [name, def] of Object.entries({ ...command.options, ...HELP_OPTION })) {
    out.push(optionRow(name, def));
  }
  out.push('');
  if (command.notes) out.push(prose(command.notes), '');
  return out.join('\n');
}

export function renderCliReference(commands: readonly CommandDef[]): string {
  return [
    '# edgeloop CLI reference',
    '',
    '<!-- Generated from the command definitions in cli/commands/ by `npm run docs:cli`; do not edit. -->',
    '',
    'Every command is `edgeloop <command> [options]`; `edgeloop <command> --help` prints the same.',
    'Exit codes: 0 success, 2 a usage error (unknown or invalid option, missing argument) or missing',
    'configuration, 1 any other failure.',
    '',
    ...commands.map((c) => `- [\`${c.name}\`](#edgeloop-${c.name}): ${prose(c.summary)}`),
    '',
    ...commands.map(commandSection),
  ].join('\n');
}
