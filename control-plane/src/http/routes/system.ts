/** Health and the API's own description. */
import { createOpenApiDocument } from '@edgeloop/shared';
import { handlers } from '../contract-routes.ts';
import type { AppDeps } from '../env.ts';

export function systemHandlers(deps: AppDeps) {
  // Built once: the contract does not change while the process runs.
  let document: Record<string, unknown> | null = null;
  return handlers({
    getHealth: () => ({
      status: 200,
      body: {
        ok: true as const,
        version: deps.version,
        mqttConnected: deps.mqttConnected?.(),
        replica: deps.replica?.(),
      },
    }),
    getOpenApi: () => {
      document ??= createOpenApiDocument({ version: deps.version });
      return { status: 200, body: document };
    },
  });
}
