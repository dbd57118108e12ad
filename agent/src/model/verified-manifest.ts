/**
 * The first step of every model install (the device's model and a camera's own): fetch the
 * manifest the desired state points at, verify its signature, trusted key and expiry, and check it
 * is the version asked for with exactly one model file.
 */
import {
  EdgeloopError,
  type Manifest,
  type ModelRef,
  type TrustedKey,
  verifyManifest,
} from '@edgeloop/shared';
import type { ControlPlaneClient } from '../comms/control-plane-client.ts';

export async function fetchVerifiedManifest(
  client: ControlPlaneClient,
  ref: ModelRef,
  trustedKeys: readonly TrustedKey[],
  signal?: AbortSignal,
): Promise<Manifest> {
  const manifest = verifyManifest(await client.getManifest(ref.manifestPath, signal), { trustedKeys });
  if (manifest.modelVersion !== ref.modelVersion) {
    throw new EdgeloopError(
      'MODEL_INVALID',
      `manifest at ${ref.manifestPath} is for version ${manifest.modelVersion}, desired is ${ref.modelVersion}`,
    );
  }
  if (manifest.files.filter((f) => f.role === 'model').length !== 1) {
    throw new EdgeloopError(
      'MODEL_INVALID',
      `manifest of version ${ref.modelVersion} must list exactly one model file`,
    );
  }
  return manifest;
}
