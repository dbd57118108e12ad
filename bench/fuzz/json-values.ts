/**
 * Seeded input generation for the fuzz bench: random JSON, a schema-driven example built from a
 * route's JSON Schema (zod's own converter), and mutations of it — one field at a time made
 * wrong (type, size, boundary, hostile string), dropped or joined by unknown keys. Values that
 * look like URLs only ever name loopback or private addresses, so nothing leaves the machine.
 */
import { z } from 'zod';

export type Rng = () => number;
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = Record<string, unknown>;

export const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)];
export const int = (rng: Rng, min: number, max: number) => min + Math.floor(rng() * (max - min + 1));

const HOSTILE_STRINGS = [
  '',
  ' ',
  '../../etc/passwd',
  '..',
  '/',
  '\\..\\..\\windows',
  'a\u0000b',
  '%00',
  '%2e%2e%2f',
  '__proto__',
  'constructor',
  '<script>alert(1)</script>',
  "'; DROP TABLE devices; --",
  '\u202Egnp.exe',
  '\uD800',
  '😀'.repeat(40),
  'x'.repeat(70_000),
  '-1',
  'NaN',
  '1e309',
  'rtsp://admin:hunter2@10.0.0.1/s',
  'http://169.254.169.254/latest/meta-data/',
  'http://127.0.0.1:1/a.png',
  'http://[::1]:1/a.png',
  'true',
  'null',
  '{}',
];
const HOSTILE_NUMBERS = [
  0,
  -1,
  1,
  0.5,
  -0.0,
  2 ** 31,
  2 ** 53 + 1,
  -(2 ** 63),
  1e308,
  Number.MIN_VALUE,
  1e-9,
];

export function randomString(rng: Rng): string {
  if (rng() < 0.5) return pick(rng, HOSTILE_STRINGS);
  const length = int(rng, 0, rng() < 0.1 ? 3000 : 40);
  let out = '';
  for (let i = 0; i < length; i++) {
    const r = rng();
    out += String.fromCodePoint(
      r < 0.7 ? int(rng, 0x20, 0x7e) : r < 0.9 ? int(rng, 0, 0x1f) : int(rng, 0xa0, 0x2fff),
    );
  }
  return out;
}

export function randomJson(rng: Rng, depth = 0): Json {
  const r = rng();
  if (depth > 3 || r < 0.15) return pick(rng, [null, true, false]);
  if (r < 0.35) return pick(rng, HOSTILE_NUMBERS);
  if (r < 0.6) return randomString(rng);
  if (r < 0.8) return Array.from({ length: int(rng, 0, 4) }, () => randomJson(rng, depth + 1));
  const obj: { [key: string]: Json } = {};
  for (let i = int(rng, 0, 4); i > 0; i--) {
    // An own property even for `__proto__` (as JSON.parse makes it), never a prototype change.
    const key = rng() < 0.2 ? '__proto__' : randomString(rng).slice(0, 20);
    Object.defineProperty(obj, key, {
      value: randomJson(rng, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return obj;
}

/** A JSON Schema (draft 2020-12) of a zod schema's input, or null when it has none to speak of. */
export function jsonSchemaOf(schema: z.ZodType): Schema | null {
  try {
    return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Schema;
  } catch {
    return null;
  }
}

/** A value the schema probably accepts: the shape a careful client would send. */
export function exampleOf(schema: Schema | undefined, rng: Rng, depth = 0): Json {
  if (!schema || depth > 6) return null;
  if ('const' in schema) return schema.const as Json;
  if (Array.isArray(schema.enum)) return pick(rng, schema.enum as Json[]);
  for (const key of ['anyOf', 'oneOf'] as const) {
    if (Array.isArray(schema[key])) return exampleOf(pick(rng, schema[key] as Schema[]), rng, depth + 1);
  }
  if (Array.isArray(schema.allOf)) return exampleOf((schema.allOf as Schema[])[0], rng, depth + 1);
  const type = Array.isArray(schema.type) ? pick(rng, schema.type as string[]) : schema.type;
  switch (type) {
    case 'object': {
      const props = (schema.properties ?? {}) as Record<string, Schema>;
      const required = new Set((schema.required ?? []) as string[]);
      const out: { [key: string]: Json } = {};
      for (const [k, v] of Object.entries(props)) {
        if (required.has(k) || rng() < 0.5) out[k] = exampleOf(v, rng, depth + 1);
      }
      return out;
    }
    case 'array': {
      const min = Number(schema.minItems ?? 0);
      const n = Math.max(min, Math.min(Number(schema.maxItems ?? 3), int(rng, min, min + 2)));
      return Array.from({ length: n }, () => exampleOf(schema.items as Schema, rng, depth + 1));
    }
    case 'integer':
    case 'number': {
      const min = Number(schema.minimum ?? schema.exclusiveMinimum ?? 1);
      const max = Number(schema.maximum ?? min + 100);
      const v = min + rng() * (max - min);
      return type === 'integer' ? Math.ceil(v) : v;
    }
    case 'boolean':
      return rng() < 0.5;
    case 'string':
      return exampleString(schema, rng);
    default:
      return null;
  }
}

function exampleString(schema: Schema, rng: Rng): string {
  const format = schema.format as string | undefined;
  if (format === 'date-time') return new Date(Date.now() + int(rng, -1e9, 1e9)).toISOString();
  if (format === 'uri')
    return pick(rng, ['http://127.0.0.1:1/a.png', 'http://10.0.0.1/x.jpg', 'https://[::1]/y.png']);
  if (format === 'binary') return 'x';
  const pattern = schema.pattern as string | undefined;
  if (pattern) {
    // The patterns of the contract are ids, names and hashes: try a few plain candidates.
    for (const candidate of ['cam-1', 'base', 'red', '1', 'a'.repeat(64), 'abc123def', 'x']) {
      if (new RegExp(pattern, 'u').test(candidate)) return candidate;
    }
  }
  const min = Number(schema.minLength ?? 1);
  return 'a'.repeat(Math.max(min, 3));
}

/** One kind of wrongness applied to a well-formed example. */
export function mutate(value: Json, rng: Rng): Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || rng() < 0.15) {
    return rng() < 0.5 ? randomJson(rng) : value;
  }
  const out: { [key: string]: Json } = { ...value };
  const keys = Object.keys(out);
  const r = rng();
  if (keys.length > 0 && r < 0.25) {
    delete out[pick(rng, keys)];
  } else if (keys.length > 0 && r < 0.8) {
    const key = pick(rng, keys);
    out[key] = rng() < 0.3 ? mutate(out[key], rng) : randomJson(rng);
  } else if (r < 0.9) {
    const key = randomString(rng).slice(0, 30) || 'extra';
    Object.defineProperty(out, key, {
      value: randomJson(rng),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    // JSON.parse makes a real own property called __proto__, unlike an object literal.
    const rest = JSON.stringify(out).slice(1);
    return JSON.parse(`{"__proto__": {"admin": true}${rest === '}' ? '' : ','} ${rest}`) as Json;
  }
  return out;
}
