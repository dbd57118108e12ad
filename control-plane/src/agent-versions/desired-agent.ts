/**
 * The `agent` part of a device's desired state: the agent version its rollout set, with every
 * architecture's bundle (path, sha256, size), so the signed desired state pins the exact bytes.
 */
import { apiRoutes, type DesiredAgent, routeUrl } from '@edgeloop/shared';
import type { AgentVersionRecord, DesiredAgentRecord } from '../store/agent-version-store.ts';
import type { Store } from '../store/store.ts';

/**
 * The `agent` part for many devices (a rollout's wave, the whole fleet on a republish): one read
 * of the devices' desired versions and one of each version's bundles. Devices without one are absent.
 */
export async function desiredAgentsOf(
  store: Store,
  deviceIds: readonly string[],
): Promise<Map<string, DesiredAgent>> {
  const desired = await store.agentVersions.desiredOfMany(deviceIds);
  const bundlesByVersion = new Map<string, AgentVersionRecord[]>();
  for (const { agentVersion } of desired.values()) {
    if (!bundlesByVersion.has(agentVersion))
      bundlesByVersion.set(agentVersion, await store.agentVersions.bundlesOf(agentVersion));
  }
  const out = new Map<string, DesiredAgent>();
  for (const [deviceId, record] of desired) {
    const agent = agentOf(record, bundlesByVersion.get(record.agentVersion) ?? []);
    if (agent) out.set(deviceId, agent);
  }
  return out;
}

function agentOf(desired: DesiredAgentRecord, bundles: AgentVersionRecord[]): DesiredAgent | undefined {
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
