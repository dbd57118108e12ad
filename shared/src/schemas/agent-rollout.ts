/**
 * Rollouts of an agent software version (HTTP routes in api/routes/agent-versions.ts): the same
 * strategy as model rollouts (waves, notification rate, soak, per-device timeout, abort criteria,
 * gates), with agent-specific gates: the share of devices that confirmed the new agent healthy and
 * the self-updates that failed or were reverted by the launcher.
 */
import { z } from 'zod';
import { PROTOCOL_VERSION } from '../protocol.ts';
import { AgentVersionSchema } from './agent-update.ts';
import { AssignModelSchema, DeviceIdSchema } from './http.ts';
import {
  RolloutDeviceStateSchema,
  RolloutStateSchema,
  RolloutStrategySchema,
  RolloutTransitionSchema,
  RolloutWaveStatusSchema,
} from './rollout.ts';

export const CreateAgentRolloutSchema = z.object({
  protocol: z.literal(PROTOCOL_VERSION),
  agentVersion: AgentVersionSchema,
  target: AssignModelSchema.shape.target,
  strategy: RolloutStrategySchema.prefault({}),
});
export type CreateAgentRollout = z.infer<typeof CreateAgentRolloutSchema>;
export type CreateAgentRolloutInput = z.input<typeof CreateAgentRolloutSchema>;

export const AgentRolloutDeviceSchema = z.object({
  deviceId: DeviceIdSchema,
  wave: z.number().int().nonnegative(),
  state: RolloutDeviceStateSchema,
  /** The agent version it ran when the rollout planned it (what an abort returns it to). */
  previousVersion: z.string().nullable(),
  reason: z.string().nullable(),
  updatedAt: z.string(),
  history: z.array(RolloutTransitionSchema),
});
export type AgentRolloutDevice = z.infer<typeof AgentRolloutDeviceSchema>;

export const AgentRolloutSchema = z.object({
  rolloutId: z.string(),
  agentVersion: AgentVersionSchema,
  target: AssignModelSchema.shape.target,
  strategy: RolloutStrategySchema,
  state: RolloutStateSchema,
  currentWave: z.number().int().nonnegative(),
  reason: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  waves: z.array(RolloutWaveStatusSchema),
  counts: z.record(z.string(), z.number().int()),
  devices: z.array(AgentRolloutDeviceSchema),
});
export type AgentRollout = z.infer<typeof AgentRolloutSchema>;
