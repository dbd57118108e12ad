/**
 * Fleet targets: the model version a group, a tag set or the whole fleet should run. A rollout
 * that completes sets its target's version, so devices that enroll, move in or come back later are
 * brought to it without another rollout.
 */
import { z } from 'zod';
import { DeviceTagsSchema } from './http.ts';

/** Whom a target covers: a group, every device having all the tags, or every device. */
export const FleetSelectorSchema = z.union([
  z.object({ group: z.string().min(1) }),
  z.object({ tags: DeviceTagsSchema.min(1) }),
  z.object({ all: z.literal(true) }),
]);
export type FleetSelector = z.infer<typeof FleetSelectorSchema>;

export const FleetTargetSchema = z.object({
  selector: FleetSelectorSchema,
  modelVersion: z.number().int().positive(),
  /** The version the selector had before; a rollback of `rolloutId` restores it. */
  previousVersion: z.number().int().positive().nullable(),
  /** The rollout that set it, or null when an assignment did. */
  rolloutId: z.string().nullable(),
  setAt: z.string(),
});
export type FleetTarget = z.infer<typeof FleetTargetSchema>;

/** Where a device's desired version comes from, in precedence order (see resolveDesired). */
export const DesiredSourceSchema = z.enum(['pin', 'rollout', 'target', 'none']);
export type DesiredSource = z.infer<typeof DesiredSourceSchema>;

/** What decides a device's desired version now, and the version it says (null: unchanged). */
export const DesiredResolutionSchema = z.object({
  source: DesiredSourceSchema,
  modelVersion: z.number().int().positive().nullable(),
  rolloutId: z.string().nullable(),
  /** The group/tag/fleet target that governs the device (source `target`). */
  selector: FleetSelectorSchema.nullable(),
});
export type DesiredResolution = z.infer<typeof DesiredResolutionSchema>;
