/** Agent software versions: signed bundles uploaded once, then rolled out like model versions. */
import { z } from 'zod';
import { AgentRolloutSchema, CreateAgentRolloutSchema } from '../../schemas/agent-rollout.ts';
import { AgentArchSchema, AgentVersionSchema } from '../../schemas/agent-update.ts';
import { Sha256HexSchema } from '../../schemas/manifest.ts';
import { RolloutActionSchema } from '../../schemas/rollout.ts';
import { IdParamsSchema } from '../bodies.ts';
import { defineRoute } from '../route.ts';

/** Multipart upload: the tarball `edgeloop bundle agent` wrote, signed with the control plane's key. */
export const AgentBundleUploadFormSchema = z.object({
  bundle: z.file().meta({ description: 'edgeloop-agent-<version>-linux-<arch>.tar.gz' }),
});

export const AgentBundleParamsSchema = z.object({
  version: AgentVersionSchema.meta({ description: 'agent version', example: '0.2.0' }),
  arch: AgentArchSchema,
});

export const AgentVersionSummarySchema = z.object({
  agentVersion: AgentVersionSchema,
  arch: AgentArchSchema,
  sha256: Sha256HexSchema,
  bytes: z.number().int().positive(),
  /** The key that signed the bundle manifest (one of the control plane's keys). */
  signerKeyId: z.string(),
  nodeBundled: z.boolean(),
  createdAt: z.string(),
  publishedAt: z.string(),
});
export type AgentVersionSummary = z.infer<typeof AgentVersionSummarySchema>;

export const agentVersionRoutes = {
  publishAgentVersion: defineRoute({
    id: 'publishAgentVersion',
    method: 'POST',
    path: '/agent-versions',
    tag: 'agent-versions',
    summary: 'Upload a signed agent bundle as an agent version (one per version and architecture)',
    description:
      "The bundle manifest must verify against the control plane's signing keys; a version and architecture already published is refused (409).",
    access: ['admin'],
    body: { type: 'multipart', schema: AgentBundleUploadFormSchema },
    bodyLimit: { limit: 'modelMaxBytes', overheadBytes: 1024 * 1024 },
    responses: { 201: { type: 'json', schema: AgentVersionSummarySchema, description: 'published' } },
  }),
  listAgentVersions: defineRoute({
    id: 'listAgentVersions',
    method: 'GET',
    path: '/agent-versions',
    tag: 'agent-versions',
    summary: 'Every published agent bundle, newest first',
    access: ['viewer'],
    responses: {
      200: {
        type: 'json',
        schema: z.object({ agentVersions: z.array(AgentVersionSummarySchema) }),
        description: 'bundles',
      },
    },
  }),
  getAgentBundle: defineRoute({
    id: 'getAgentBundle',
    method: 'GET',
    path: '/agent-versions/{version}/bundles/{arch}',
    tag: 'agent-versions',
    summary: "An agent version's bundle for one architecture (devices fetch it to update themselves)",
    access: ['device', 'viewer'],
    params: AgentBundleParamsSchema,
    responses: {
      200: { type: 'binary', contentType: 'application/gzip', description: 'the bundle' },
    },
  }),
  createAgentRollout: defineRoute({
    id: 'createAgentRollout',
    method: 'POST',
    path: '/agent-rollouts',
    tag: 'agent-versions',
    summary: 'Start a staged, health-gated rollout of an agent version',
    description:
      'Same strategy as model rollouts. A device that reports its self-update failed or reverted counts as failed; the abort criteria and gates then stop the rollout and order touched devices back.',
    access: ['operator'],
    body: { type: 'json', schema: CreateAgentRolloutSchema },
    responses: { 201: { type: 'json', schema: AgentRolloutSchema, description: 'started' } },
  }),
  listAgentRollouts: defineRoute({
    id: 'listAgentRollouts',
    method: 'GET',
    path: '/agent-rollouts',
    tag: 'agent-versions',
    summary: 'Every agent rollout, newest first',
    access: ['viewer'],
    responses: {
      200: {
        type: 'json',
        schema: z.object({ rollouts: z.array(AgentRolloutSchema) }),
        description: 'agent rollouts',
      },
    },
  }),
  getAgentRollout: defineRoute({
    id: 'getAgentRollout',
    method: 'GET',
    path: '/agent-rollouts/{id}',
    tag: 'agent-versions',
    summary: 'One agent rollout: waves, gates, every device',
    access: ['viewer'],
    params: IdParamsSchema,
    responses: { 200: { type: 'json', schema: AgentRolloutSchema, description: 'the rollout' } },
  }),
  abortAgentRollout: defineRoute({
    id: 'abortAgentRollout',
    method: 'POST',
    path: '/agent-rollouts/{id}/abort',
    tag: 'agent-versions',
    summary: 'Abort and order updated devices back to their previous agent version',
    access: ['operator'],
    params: IdParamsSchema,
    body: { type: 'json', schema: RolloutActionSchema },
    responses: { 200: { type: 'json', schema: AgentRolloutSchema, description: 'the rollout now' } },
  }),
} as const;
