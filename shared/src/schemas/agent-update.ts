/**
 * Agent self-updates on the wire: which agent software version the control plane wants a device to
 * run (inside the signed desired state) and how far the device got (inside ReportedState). The
 * bundles are the signed tarballs of `edgeloop bundle agent`, published as agent versions.
 */
import { z } from 'zod';
import { Sha256HexSchema } from './manifest.ts';

/** major.minor.patch with an optional pre-release or build tail, as agent/package.json states it. */
export const AgentVersionSchema = z
  .string()
  .max(64)
  .regex(/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/, 'expected a semver version');

export const AgentArchSchema = z.enum(['arm64', 'x64']);
export type AgentArch = z.infer<typeof AgentArchSchema>;

/** One architecture's bundle of an agent version: where to fetch it and what it must hash to. */
export const AgentBundleRefSchema = z.object({
  arch: AgentArchSchema,
  /** HTTP path relative to the control plane's URL. */
  path: z.string().startsWith('/'),
  sha256: Sha256HexSchema,
  bytes: z.number().int().positive(),
});
export type AgentBundleRef = z.infer<typeof AgentBundleRefSchema>;

/**
 * The agent version a device should run. Bundles per architecture, so the control plane need not
 * know a device's machine; the device takes its own. `rollback` marks an ordered return to an older
 * version (an aborted or rolled-back rollout): only then may a device go below the highest version
 * it has confirmed healthy (anti-rollback, as for models).
 */
export const DesiredAgentSchema = z.object({
  agentVersion: AgentVersionSchema,
  bundles: z.array(AgentBundleRefSchema).min(1).max(4),
  rollback: z.boolean().default(false),
});
export type DesiredAgent = z.infer<typeof DesiredAgentSchema>;

/**
 * Where a device is with a desired agent version: downloading the bundle, verifying it (sha256,
 * signed bundle manifest, every file), installed (in the inactive slot, pointer switched,
 * restarting), active (the new agent confirmed itself healthy), failed (refused or broken before
 * the switch: the running agent carries on) or reverted (the new agent crash-looped or did not
 * confirm within the launcher's deadline, and the launcher switched back).
 */
export const AgentUpdatePhaseSchema = z.enum([
  'downloading',
  'verifying',
  'installed',
  'active',
  'failed',
  'reverted',
]);
export type AgentUpdatePhase = z.infer<typeof AgentUpdatePhaseSchema>;

export const AgentUpdateProgressSchema = z.object({
  targetVersion: AgentVersionSchema,
  phase: AgentUpdatePhaseSchema,
  code: z.string().max(64).optional(),
  detail: z.string().max(500).optional(),
  at: z.iso.datetime(),
});
export type AgentUpdateProgress = z.infer<typeof AgentUpdateProgressSchema>;

function parts(version: string): { core: number[]; pre: string | null } {
  const [main, pre] = version.split(/-(.*)/s, 2);
  const core = main.split('+')[0].split('.').map(Number);
  return { core, pre: pre ? pre.split('+')[0] : null };
}

/** Semver precedence of two agent versions (build metadata ignored): negative, zero or positive. */
export function compareAgentVersions(a: string, b: string): number {
  const x = parts(a);
  const y = parts(b);
  for (let i = 0; i < 3; i++) if (x.core[i] !== y.core[i]) return x.core[i] - y.core[i];
  // A pre-release sorts before its release (semver §11).
  if (x.pre === y.pre) return 0;
  if (x.pre === null) return 1;
  if (y.pre === null) return -1;
  return x.pre.localeCompare(y.pre, 'en', { numeric: true });
}
