/**
 * The `agent` part of a device's desired state: the agent version its rollout set, with every
 * architecture's bundle (path, sha256, size), so the signed desired state pins the exact bytes.
 */
import { apiRoutes, type DesiredAgent, routeUrl } from '@edgeloop/shared';
import type { Store } from '../store/store.ts';

export async function desiredAgentOf(store: Store, deviceId: string): Promise<DesiredAgent | undefined> {
  const desired = await store.agentVersions.desiredOf(deviceId);
  if (!desired) return undefined;
  const bundles = await store.agentVersions.bundlesOf(desired.agentVersion);
  if (bundles.length === 0) return undefined;
  return {
    agentVersion: desired.agentVersion,
    bundles: bundles.map((b) => ({
      arch: b.arch,
      path: routeUrl(apiRoutes.getAgentBundle, { version: b.agentVersion, arch: b.arch }),
      sha256: b.sha256,
      bytes: b.bytes,
    })),
    rollback: desired.rollback,
  };
}
