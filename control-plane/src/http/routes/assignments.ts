import { assignModel } from '../../fleet/assignments.ts';
import { handlers } from '../contract-routes.ts';
import type { AppDeps } from '../env.ts';

export function assignmentHandlers(deps: AppDeps) {
  return handlers({
    assignModel: async ({ body }) => {
      const devices = await assignModel(deps, body);
      deps.logger.info({ modelVersion: body.modelVersion, devices }, 'model assigned');
      return { status: 200, body: { devices } };
    },
  });
}
