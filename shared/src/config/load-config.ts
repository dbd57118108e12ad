/**
 * Config = defaults ← JSON file ← environment. Environment variables use a prefix and `__` between
 * levels: EDGELOOP_HTTP__PORT=8080 sets `http.port`. Values are parsed as JSON when they look like
 * JSON (numbers, booleans, arrays, objects) and kept as strings otherwise. Errors name the bad key.
 */
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { ConfigError } from '../errors.ts';

export interface LoadConfigOptions {
  /** Path of a JSON config file; a missing file is an error when given. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** e.g. 'EDGELOOP_AGENT_' */
  envPrefix: string;
  /** Values from code (CLI flags), applied last. */
  overrides?: Record<string, unknown>;
}

function camelCase(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function parseEnvValue(raw: string): unknown {
  const trimmed = raw.trim();
  if (/^(-?\d+(\.\d+)?|true|false|null)$/.test(trimmed) || /^[[{]/.test(trimmed)) {
    try {
      return JSON.parse(trimmed);
    } catch {
      return raw;
    }
  }
  return raw;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
}

export function deepMerge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (
    base === null ||
    over === null ||
    typeof base !== 'object' ||
    typeof over !== 'object' ||
    Array.isArray(base) ||
    Array.isArray(over)
  ) {
    return over;
  }
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over as Record<string, unknown>)) out[k] = deepMerge(out[k], v);
  return out;
}

export function envToObject(env: NodeJS.ProcessEnv, prefix: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(prefix) || raw === undefined) continue;
    const path = name.slice(prefix.length).split('__').filter(Boolean).map(camelCase);
    if (path.length > 0) setPath(out, path, parseEnvValue(raw));
  }
  return out;
}

export function loadConfig<S extends z.ZodType>(schema: S, options: LoadConfigOptions): z.infer<S> {
  let fromFile: unknown = {};
  if (options.file) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${options.file}: ${(err as Error).message}`);
    }
    try {
      fromFile = JSON.parse(text);
    } catch (err) {
      throw new ConfigError(`config file ${options.file} is not valid JSON: ${(err as Error).message}`);
    }
  }
  const merged = deepMerge(
    deepMerge(fromFile, envToObject(options.env ?? process.env, options.envPrefix)),
    options.overrides ?? {},
  );
  const result = schema.safeParse(merged);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const key = issue.path.join('.') || '(root)';
      return `${key}: ${issue.message}`;
    });
    const source = options.file
      ? ` (file ${options.file}, env ${options.envPrefix}*)`
      : ` (env ${options.envPrefix}*)`;
    throw new ConfigError(`invalid configuration${source}: ${problems.join('; ')}`, result.error.issues);
  }
  return result.data;
}
