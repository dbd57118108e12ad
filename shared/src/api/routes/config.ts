/**
 * Remote agent configuration: fragments per group, tag and device (merged in that order, the
 * device wins), a device's effective configuration and what it applied, and the device's own copy.
 * Readers never see camera passwords (redacted as `***`); a fragment saved back with `***` keeps
 * the stored password.
 */
import { z } from 'zod';
import { PROTOCOL_VERSION } from '../../protocol.ts';
import {
  ConfigFragmentSchema,
  ConfigScopeSchema,
  DesiredConfigSchema,
} from '../../schemas/agent-settings.ts';
import { AppliedConfigSchema } from '../../schemas/applied-config.ts';
import { IdParamsSchema } from '../bodies.ts';
import { defineRoute } from '../route.ts';

const Revision = z.string().max(64).nullable();

export const ConfigFragmentParamsSchema = z.object({
  scope: ConfigScopeSchema.meta({ description: 'group, tag or device' }),
  key: z.string().min(1).max(64).meta({ description: 'the group name, tag or device id', example: 'dock' }),
});

export const ConfigFragmentRecordSchema = z.object({
  scope: ConfigScopeSchema,
  key: z.string(),
  settings: ConfigFragmentSchema,
  revision: Revision,
  updatedAt: z.iso.datetime(),
  updatedBy: z.string(),
});
export type ConfigFragmentRecord = z.infer<typeof ConfigFragmentRecordSchema>;

export const PutConfigFragmentSchema = z.object({
  protocol: z.literal(PROTOCOL_VERSION),
  settings: ConfigFragmentSchema,
});
export type PutConfigFragment = z.infer<typeof PutConfigFragmentSchema>;

export const PutConfigFragmentQuerySchema = z.object({
  dryRun: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional()
    .meta({ description: 'validate and show the affected devices without storing' }),
});

export const ConfigChangeResponseSchema = z.object({
  fragment: ConfigFragmentRecordSchema.nullable(),
  /** Devices whose effective configuration this fragment takes part in. */
  devices: z.array(z.string()),
  dryRun: z.boolean(),
});

export const ConfigLayerSchema = z.object({
  scope: ConfigScopeSchema,
  key: z.string(),
  revision: Revision,
  updatedAt: z.iso.datetime(),
});

export const DeviceConfigViewSchema = z.object({
  deviceId: z.string(),
  /** The merged fragment the device is asked to run (redacted) and the layers it came from. */
  desired: z.object({
    revision: Revision,
    settings: ConfigFragmentSchema,
    layers: z.array(ConfigLayerSchema),
  }),
  /** What the agent last reported; null before its first report with a config. */
  applied: AppliedConfigSchema.nullable(),
  inSync: z.boolean(),
});
export type DeviceConfigView = z.infer<typeof DeviceConfigViewSchema>;

export const configRoutes = {
  listConfigFragments: defineRoute({
    id: 'listConfigFragments',
    method: 'GET',
    path: '/config/fragments',
    tag: 'config',
    summary: 'Every remote configuration fragment (camera passwords redacted)',
    access: ['viewer'],
    responses: {
      200: {
        type: 'json',
        schema: z.object({ fragments: z.array(ConfigFragmentRecordSchema) }),
        description: 'fragments',
      },
    },
  }),
  getConfigFragment: defineRoute({
    id: 'getConfigFragment',
    method: 'GET',
    path: '/config/fragments/{scope}/{key}',
    tag: 'config',
    summary: "One group's, tag's or device's configuration fragment (passwords redacted)",
    access: ['viewer'],
    params: ConfigFragmentParamsSchema,
    responses: { 200: { type: 'json', schema: ConfigFragmentRecordSchema, description: 'the fragment' } },
  }),
  putConfigFragment: defineRoute({
    id: 'putConfigFragment',
    method: 'PUT',
    path: '/config/fragments/{scope}/{key}',
    tag: 'config',
    summary: 'Set a configuration fragment; affected devices get their new configuration at once',
    description:
      "Validated with the agent's own config schema: a bad or unknown key is refused (400) by name and never reaches a device. `dryRun=true` only validates.",
    access: ['operator'],
    params: ConfigFragmentParamsSchema,
    query: PutConfigFragmentQuerySchema,
    body: { type: 'json', schema: PutConfigFragmentSchema },
    bodyLimit: 64 * 1024,
    responses: {
      200: { type: 'json', schema: ConfigChangeResponseSchema, description: 'stored (or checked)' },
    },
  }),
  deleteConfigFragment: defineRoute({
    id: 'deleteConfigFragment',
    method: 'DELETE',
    path: '/config/fragments/{scope}/{key}',
    tag: 'config',
    summary: 'Remove a configuration fragment; affected devices fall back to the other layers',
    access: ['operator'],
    params: ConfigFragmentParamsSchema,
    responses: { 200: { type: 'json', schema: ConfigChangeResponseSchema, description: 'removed' } },
  }),
  getDeviceConfig: defineRoute({
    id: 'getDeviceConfig',
    method: 'GET',
    path: '/devices/{id}/config',
    tag: 'config',
    summary: "A device's effective configuration (redacted), its layers, and the revision it applied",
    access: ['viewer'],
    params: IdParamsSchema,
    responses: { 200: { type: 'json', schema: DeviceConfigViewSchema, description: 'the configuration' } },
  }),
  getDesiredConfig: defineRoute({
    id: 'getDesiredConfig',
    method: 'GET',
    path: '/device/config',
    tag: 'device',
    summary: "The calling device's remote configuration (also retained on MQTT)",
    access: ['device'],
    responses: { 200: { type: 'json', schema: DesiredConfigSchema, description: 'desired configuration' } },
  }),
} as const;
