/**
 * Remote agent configuration: the sections of the agent config (camera, frames, samples,
 * predictions, updates) the control plane may set, as fragments per group, tag and device.
 *
 * Merge rules (one function, used by the control plane to build a device's effective fragment and
 * by the agent to lay it over its local file config): plain objects merge key by key, the later
 * layer wins; `camera`, `cameras` and `frames.roi` are replaced whole (a camera of another `type`, or half a
 * region, would not make sense), arrays are replaced.
 *
 * Validation uses the agent's own config schema (picked sections), so what the API accepts is
 * exactly what an agent accepts from its file; keys the schema does not know are refused by name.
 */

import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AgentConfigObjectSchema } from '../config/agent-config.ts';
import { ValidationError } from '../errors.ts';
import { PROTOCOL_VERSION } from '../protocol.ts';
import { REDACTED, redactText } from '../redact.ts';
import { describeIssues } from '../validate.ts';

/** The agent config sections a control plane may set remotely; everything else stays local. */
export const REMOTE_SECTIONS = ['camera', 'cameras', 'frames', 'samples', 'predictions', 'updates'] as const;
export type RemoteSection = (typeof REMOTE_SECTIONS)[number];

/** The remote sections with the agent's own validation and defaults. */
export const AgentSettingsSchema = AgentConfigObjectSchema.pick({
  camera: true,
  cameras: true,
  frames: true,
  samples: true,
  predictions: true,
  updates: true,
});
export type AgentSettings = z.infer<typeof AgentSettingsSchema>;

/**
 * A fragment as stored and sent: any subset of the remote sections, each partial except `camera`
 * (replaced whole). Checked for shape here; `validateFragment` checks it against the agent schema.
 */
export const ConfigFragmentSchema = z
  .object({
    camera: z.record(z.string(), z.unknown()).optional(),
    cameras: z.array(z.record(z.string(), z.unknown())).max(16).optional(),
    frames: z.record(z.string(), z.unknown()).optional(),
    samples: z.record(z.string(), z.unknown()).optional(),
    predictions: z.record(z.string(), z.unknown()).optional(),
    updates: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .describe(
    'Sections of the agent config: camera or cameras (replaced whole; a layer that sets one drops the other), frames, samples, predictions, updates.',
  );
export type ConfigFragment = z.infer<typeof ConfigFragmentSchema>;

export const ConfigScopeSchema = z.enum(['group', 'tag', 'device']);
export type ConfigScope = z.infer<typeof ConfigScopeSchema>;

/** Retained on `config`: the device's effective remote fragment (secrets included: device only). */
export const DesiredConfigSchema = z.object({
  protocol: z.literal(PROTOCOL_VERSION),
  /** Content hash of `settings`; null when no fragment applies to the device. */
  revision: z.string().max(64).nullable(),
  settings: ConfigFragmentSchema,
  updatedAt: z.iso.datetime(),
});
export type DesiredConfig = z.infer<typeof DesiredConfigSchema>;

/**
 * The agent's dataDir/remote-config.json: the last configuration that proved healthy, the last that
 * did not, and the one being applied but not yet confirmed (an agent that stopped during the health
 * check starts on it and checks it again; one that stopped twice reverts it).
 */
export const RemoteConfigFileSchema = z.object({
  lastGood: z.object({ revision: z.string().nullable(), settings: ConfigFragmentSchema }),
  failedRevision: z.string().nullable(),
  candidate: z
    .object({
      revision: z.string().nullable(),
      settings: ConfigFragmentSchema,
      /** Agent starts on this candidate so far. */
      boots: z.number().int().nonnegative(),
    })
    .nullable()
    .optional(),
});
export type RemoteConfigFile = z.infer<typeof RemoteConfigFileSchema>;

type Json = Record<string, unknown>;

function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Paths replaced whole rather than merged key by key. */
const ATOMIC_PATHS = new Set(['camera', 'frames.roi']);

/** Lays `over` onto `base` by the rules above; neither input is changed. */
export function mergeSettings(base: Json, over: Json, path = ''): Json {
  const out: Json = { ...base };
  // `camera` and `cameras` describe the same thing: a layer that sets one replaces the other.
  if (path === '' && over.camera !== undefined) delete out.cameras;
  if (path === '' && over.cameras !== undefined) delete out.camera;
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const here = path ? `${path}.${key}` : key;
    const current = out[key];
    out[key] =
      isPlainObject(value) && isPlainObject(current) && !ATOMIC_PATHS.has(here)
        ? mergeSettings(current, value, here)
        : value;
  }
  return out;
}

/** Keys present in `input` but not in the parsed result (the schema strips what it does not know). */
function unknownKeys(input: unknown, parsed: unknown, path: string[] = []): string[] {
  if (Array.isArray(input) && Array.isArray(parsed)) {
    return input.flatMap((item, i) => unknownKeys(item, parsed[i], [...path, String(i)]));
  }
  if (!isPlainObject(input) || !isPlainObject(parsed)) return [];
  const out: string[] = [];
  for (const [key, value] of Object.entries(input)) {
    if (!(key in parsed)) out.push([...path, key].join('.'));
    else out.push(...unknownKeys(value, parsed[key], [...path, key]));
  }
  return out;
}

/**
 * Checks a fragment against the agent's schema. Throws ValidationError naming each bad key
 * (`samples.lowConfidenceThreshold: Too big…`, `samples.lowConfidenceTreshold: not a setting`).
 */
export function validateFragment(fragment: unknown, what = 'configuration'): ConfigFragment {
  if (!isPlainObject(fragment)) throw new ValidationError(`invalid ${what}: expected an object`);
  const outside = Object.keys(fragment).filter((k) => !(REMOTE_SECTIONS as readonly string[]).includes(k));
  if (outside.length > 0) {
    throw new ValidationError(
      `invalid ${what}: ${outside.map((k) => `${k}: cannot be set remotely (allowed: ${REMOTE_SECTIONS.join(', ')})`).join('; ')}`,
    );
  }
  if (fragment.camera !== undefined && fragment.cameras !== undefined) {
    throw new ValidationError(`invalid ${what}: cameras: give camera or cameras, not both`);
  }
  const shape = ConfigFragmentSchema.safeParse(fragment);
  if (!shape.success) {
    throw new ValidationError(`invalid ${what}: ${describeIssues(shape.error.issues)}`, shape.error.issues);
  }
  const result = AgentSettingsSchema.safeParse(fragment);
  if (!result.success) {
    throw new ValidationError(`invalid ${what}: ${describeIssues(result.error.issues)}`, result.error.issues);
  }
  const unknown = unknownKeys(fragment, result.data);
  if (unknown.length > 0) {
    throw new ValidationError(`invalid ${what}: ${unknown.map((k) => `${k}: not a setting`).join('; ')}`);
  }
  return shape.data;
}

/** JSON with object keys sorted, so equal fragments hash equally. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isPlainObject(value)) {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A fragment's revision: the first 16 hex of sha256 over its canonical JSON; null when empty. */
export function settingsRevision(settings: ConfigFragment): string | null {
  if (Object.keys(settings).length === 0) return null;
  return createHash('sha256').update(canonical(settings)).digest('hex').slice(0, 16);
}

/** Which remote sections differ between two effective configs (deep, order-insensitive). */
export function changedSections(a: Partial<Record<RemoteSection, unknown>>, b: typeof a): RemoteSection[] {
  return REMOTE_SECTIONS.filter((s) => canonical(a[s]) !== canonical(b[s]));
}

// ---------------------------------------------------------------------------------------------
// Secrets. Camera URLs may carry credentials (rtsp://user:pass@host/…); readers of the API see
// them redacted, and a fragment saved back with the redaction marker keeps the stored password.

const redactString = redactText;

function mapStrings(value: unknown, fn: (s: string, path: string) => string, path = ''): unknown {
  if (typeof value === 'string') return fn(value, path);
  if (Array.isArray(value)) return value.map((v, i) => mapStrings(v, fn, `${path}[${i}]`));
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, fn, `${path}.${k}`)]));
  }
  return value;
}

/** The fragment with every URL password replaced by `***`. */
export function redactSettings<T>(settings: T): T {
  return mapStrings(settings, redactString) as T;
}

/**
 * A fragment sent back by a reader (the dashboard) that still holds `***` passwords: each one is
 * restored from the stored fragment's string at the same path, when that is the same URL with a
 * real password. Anything else is kept as sent.
 */
export function restoreRedacted(next: ConfigFragment, stored: ConfigFragment | null): ConfigFragment {
  if (!stored) return next;
  const storedByPath = new Map<string, string>();
  mapStrings(stored, (s, path) => {
    storedByPath.set(path, s);
    return s;
  });
  return mapStrings(next, (s, path) => {
    const old = storedByPath.get(path);
    if (old === undefined || !s.includes(REDACTED)) return s;
    return redactString(old) === s ? old : s;
  }) as ConfigFragment;
}
