/**
 * Builds docs/reference/configuration.md from the zod config schemas, so the reference cannot drift
 * from what loadConfig accepts. The schemas are read through z.toJSONSchema (input side: what a
 * config file may contain, with defaults), and `.describe()` texts become the descriptions.
 */
import { AgentConfigSchema, ControlPlaneConfigSchema } from '@edgeloop/shared';
import { z } from 'zod';

/** The JSON Schema subset that z.toJSONSchema produces for our config schemas. */
interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  const?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  pattern?: string;
  format?: string;
}

export interface ConfigRow {
  path: string;
  type: string;
  required: boolean;
  defaultValue: unknown;
  description: string;
  /** Environment variable that sets this key, when one can (not inside arrays). */
  env?: string;
}

interface Program {
  title: string;
  schema: z.ZodType;
  envPrefix: string;
  intro: string;
}

const PROGRAMS: Program[] = [
  {
    title: 'Control plane',
    schema: ControlPlaneConfigSchema,
    envPrefix: 'EDGELOOP_CP_',
    intro:
      '`edgeloop control-plane --config FILE` (example: `deploy/config/control-plane.json`). ' +
      'Flags `--data-dir`, `--http-port`, `--mqtt-port` and `--host` (binds both servers) win over file and ' +
      'environment. The command defaults `dataDir` to `.edgeloop/control-plane`.',
  },
  {
    title: 'Agent',
    schema: AgentConfigSchema,
    envPrefix: 'EDGELOOP_AGENT_',
    intro:
      '`edgeloop agent --config FILE` (examples: `deploy/config/agent.json`, `agent-pi.json`, ' +
      '`agent-jetson.json`). Flags `--data-dir`, `--enrollment-token` and `--control-plane` (sets ' +
      '`controlPlaneUrl`) win over file and environment; `--check` validates and exits.',
  },
];

/** camelCase key → the env segment load-config turns back into it (sampleMaxBytes → SAMPLE_MAX_BYTES). */
function envSegment(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

function range(s: JsonSchema): string {
  // zod's .int() adds ±Number.MAX_SAFE_INTEGER as bounds; they say nothing to a reader.
  const min = s.minimum !== undefined && s.minimum > -Number.MAX_SAFE_INTEGER ? s.minimum : undefined;
  const max = s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER ? s.maximum : undefined;
  const low =
    s.exclusiveMinimum !== undefined ? `> ${s.exclusiveMinimum}` : min !== undefined ? `≥ ${min}` : '';
  const high =
    s.exclusiveMaximum !== undefined ? `< ${s.exclusiveMaximum}` : max !== undefined ? `≤ ${max}` : '';
  if (min !== undefined && max !== undefined) return `${min}–${max}`;
  return [low, high].filter(Boolean).join(', ');
}

function typeOf(s: JsonSchema): string {
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.enum) return s.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' | ');
  const variants = s.oneOf ?? s.anyOf;
  if (variants) return variants.map(typeOf).join(' | ');
  const type = Array.isArray(s.type) ? s.type.join(' | ') : (s.type ?? 'any');
  if (type === 'array') {
    const item = s.items ? typeOf(s.items) : 'any';
    const count = s.minItems ? ` (at least ${s.minItems})` : '';
    return `${item.includes(' ') ? `(${item})` : item}[]${count}`;
  }
  if (type === 'object' && s.properties) return `{${Object.keys(s.properties).join(', ')}}`;
  if (type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') {
    return `map of string → ${typeOf(s.additionalProperties)}`;
  }
  if (type === 'number' || type === 'integer') {
    const r = range(s);
    return r ? `${type} (${r})` : type;
  }
  if (type === 'string') {
    const extras: string[] = [];
    if (s.format) extras.push(s.format);
    if (s.minLength !== undefined && s.minLength > 1) extras.push(`length ≥ ${s.minLength}`);
    if (s.maxLength !== undefined) extras.push(`length ≤ ${s.maxLength}`);
    if (s.pattern) extras.push(`matches \`${s.pattern}\``);
    return extras.length ? `string (${extras.join(', ')})` : 'string';
  }
  return type;
}

function isObject(s: JsonSchema): boolean {
  return s.type === 'object' && s.properties !== undefined;
}

/** A union whose members are objects told apart by a constant `type` field (cameras, object stores). */
function taggedVariants(s: JsonSchema): JsonSchema[] | undefined {
  const variants = s.oneOf ?? s.anyOf;
  if (!variants?.every((v) => isObject(v) && v.properties?.type?.const !== undefined)) return undefined;
  return variants;
}

/** Where an environment variable name stands while walking: the name so far and the separator for the next key. */
interface EnvBase {
  name: string;
  separator: string;
}

function childEnv(base: EnvBase | undefined, key: string): EnvBase | undefined {
  return base && { name: `${base.name}${base.separator}${envSegment(key)}`, separator: '__' };
}

function walk(
  s: JsonSchema,
  path: string,
  env: EnvBase | undefined,
  required: boolean,
  rows: ConfigRow[],
): void {
  const description = s.description ?? '';
  const variants = taggedVariants(s);
  if (variants) {
    const tags = variants.map((v) => `\`type: ${JSON.stringify(v.properties?.type?.const)}\``);
    rows.push({
      path,
      type: `one of ${tags.join(', ')}`,
      required,
      defaultValue: s.default,
      description,
      env: env?.name,
    });
    for (const variant of variants) {
      walkProperties(
        variant,
        `${path}{type=${JSON.stringify(variant.properties?.type?.const)}}`,
        env,
        rows,
        true,
      );
    }
    return;
  }
  if (isObject(s)) {
    // An object's default repeats its keys' defaults (or is {} for prefault), so its keys carry them.
    rows.push({ path, type: 'object', required, defaultValue: undefined, description });
    walkProperties(s, path, env, rows, false);
    return;
  }
  rows.push({ path, type: typeOf(s), required, defaultValue: s.default, description, env: env?.name });
  if (s.type === 'array' && s.items && isObject(s.items)) {
    // Keys inside array elements cannot be set from the environment one by one.
    walkProperties(s.items, `${path}[]`, undefined, rows, false);
  }
}

function walkProperties(
  s: JsonSchema,
  path: string,
  env: EnvBase | undefined,
  rows: ConfigRow[],
  inVariant: boolean,
): void {
  for (const [key, child] of Object.entries(s.properties ?? {})) {
    // A variant's `type` is already named in its path.
    if (inVariant && key === 'type') continue;
    walk(child, path ? `${path}.${key}` : key, childEnv(env, key), s.required?.includes(key) ?? false, rows);
  }
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n+/g, ' ');
}

function formatDefault(row: ConfigRow): string {
  if (row.defaultValue === undefined) return row.required ? '**required**' : '—';
  return `\`${cell(JSON.stringify(row.defaultValue))}\``;
}

export function configRows(schema: z.ZodType, envPrefix: string): ConfigRow[] {
  const json = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    reused: 'inline',
  }) as JsonSchema;
  const rows: ConfigRow[] = [];
  walkProperties(json, '', { name: envPrefix.replace(/_$/, ''), separator: '_' }, rows, false);
  return rows;
}

function table(rows: ConfigRow[]): string {
  const lines = ['| key | type | default | environment | description |', '|---|---|---|---|---|'];
  for (const row of rows) {
    lines.push(
      `| \`${row.path}\` | ${cell(row.type)} | ${formatDefault(row)} | ${row.env ? `\`${row.env}\`` : ''} | ${cell(row.description)} |`,
    );
  }
  return lines.join('\n');
}

/** The whole of docs/reference/configuration.md. */
export function configReferenceMarkdown(): string {
  const parts = [
    '# Configuration reference',
    '',
    '<!-- Generated by `npm run docs:config` from shared/src/config/*.ts; do not edit by hand.',
    '     test/unit/docs/config-reference.test.ts fails when this file is stale. -->',
    '',
    'The control plane and the agent each read one JSON config file. A value is taken from, in rising',
    'order: the schema default, the file (`--config FILE`), the environment, command-line flags. The',
    'merged result is validated once; a bad value stops the program with an error that names the key',
    '(`edgeloop agent --config F --check` validates an agent config without starting it).',
    '',
    '## Environment overrides',
    '',
    "A variable is the program's prefix followed by the key path in upper snake case, with `__` between",
    'levels: `EDGELOOP_CP_HTTP__PORT=8080` sets `http.port` of the control plane,',
    "`EDGELOOP_AGENT_SAMPLES__LOW_CONFIDENCE_THRESHOLD=0.5` the agent's `samples.lowConfidenceThreshold`.",
    'Values that look like JSON (numbers, `true`, `false`, `null`, arrays, objects) are parsed as JSON,',
    'anything else is a string; so an array or a whole object is given as JSON',
    '(`EDGELOOP_CP_PIPELINE__TRAIN_COMMAND=\'["node","cli/edgeloop.mjs","train"]\'`). Environment values',
    "are merged into the file's objects key by key. Keys inside arrays have no variable of their own.",
    'For a tagged object (`camera`, `objectStore`), set its `type` too when the file does not.',
    '',
    'The commands that talk to a control plane read `EDGELOOP_URL`, `EDGELOOP_ADMIN_TOKEN` and',
    '`EDGELOOP_ACTOR` (see the [CLI reference](cli.md)); the trainer reads `EDGELOOP_TRAIN_THREADS`',
    '(worker threads for the fast kernels, default min(cores, 4)) and `EDGELOOP_FAST_KERNELS=0` (stock',
    'tfjs kernels).',
    '',
    'In the tables, `a.b{type="x"}.c` is key `a.b.c` when `a.b.type` is `"x"`, and `a[]` is each element',
    'of the array `a`. **required** marks a key without a default that must be given.',
  ];
  for (const program of PROGRAMS) {
    parts.push(
      '',
      `## ${program.title}`,
      '',
      program.intro,
      `Environment prefix: \`${program.envPrefix}\`.`,
      '',
      table(configRows(program.schema, program.envPrefix)),
    );
  }
  return `${parts.join('\n')}\n`;
}
