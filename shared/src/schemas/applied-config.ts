/**
 * What an agent reports about remote configuration (ReportedState.config). Kept apart from
 * agent-settings.ts so messages.ts does not import the agent config schema (no import cycle).
 */
import { z } from 'zod';

/** ReportedState.config: which remote revision the agent runs, and what happened to the last one. */
export const AppliedConfigSchema = z.object({
  /** The revision the agent runs now (null: its local file config only). */
  revision: z.string().max(64).nullable(),
  status: z.enum(['applying', 'applied', 'reverted', 'rejected']),
  /** The revision that was reverted or rejected. */
  failedRevision: z.string().max(64).optional(),
  detail: z.string().max(500).optional(),
  at: z.iso.datetime(),
});
export type AppliedConfig = z.infer<typeof AppliedConfigSchema>;
