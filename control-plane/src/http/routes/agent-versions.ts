/** Agent versions (publish, list, bundle download for devices) and agent rollouts. */
import { NotFoundError } from '@edgeloop/shared';
import { agentSummaryOf, publishAgentBundle } from '../../agent-versions/agent-registry.ts';
import { handlers } from '../contract-routes.ts';
import type { AppDeps } from '../env.ts';
import { rangedObjectResponse } from '../range.ts';

export function agentVersionHandlers(deps: AppDeps) {
  const { store, objects, agentRollouts } = deps;
  return handlers({
    publishAgentVersion: async ({ body }) => {
      const bytes = new Uint8Array(await body.bundle.arrayBuffer());
      const summary = await publishAgentBundle(
        { store, objects, keyring: deps.keyring, logger: deps.logger },
        bytes,
      );
      return { status: 201, body: summary };
    },
    listAgentVersions: async () => ({
      status: 200,
      body: { agentVersions: (await store.agentVersions.listVersions()).map(agentSummaryOf) },
    }),
    getAgentBundle: async ({ params }) => {
      const record = await store.agentVersions.getVersion(params.version, params.arch);
      if (!record) throw new NotFoundError(`agent ${params.version} has no ${params.arch} bundle`);
      return rangedObjectResponse(objects, record.objectKey, undefined, {
        'Content-Type': 'application/gzip',
        ETag: `"${record.sha256}"`,
      });
    },
    createAgentRollout: async ({ body }) => ({ status: 201, body: await agentRollouts.create(body) }),
    listAgentRollouts: async () => ({ status: 200, body: { rollouts: await agentRollouts.list() } }),
    getAgentRollout: async ({ params }) => ({ status: 200, body: await agentRollouts.get(params.id) }),
    abortAgentRollout: async ({ params, body }) => ({
      status: 200,
      body: await agentRollouts.abort(params.id, body.reason),
    }),
  });
}
