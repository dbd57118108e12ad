/** Types shared by the HTTP layer: who is calling, and what every route is built from. */
import type { ControlPlaneConfig, KeyAndCert, Logger, SigningKey, UserRole } from '@edgeloop/shared';
import type { AgentRolloutEngine } from '../agent-versions/agent-rollout-engine.ts';
import type { AlertEngine } from '../alerts/alert-engine.ts';
import type { DeviceAuthenticator } from '../auth/device-authenticator.ts';
import type { Sessions } from '../auth/sessions.ts';
import type { SigningKeyring } from '../auth/signing-keyring.ts';
import type { ChangeFeed } from '../dashboard/change-feed.ts';
import type { LiveFrames } from '../devices/live-frames.ts';
import type { Convergence } from '../fleet/convergence.ts';
import type { DesiredConfigPublisher } from '../fleet/desired-config.ts';
import type { DesiredStatePublisher } from '../fleet/desired-state.ts';
import type { CredentialGuard } from '../limits/credential-guard.ts';
import type { DeviceQuotas } from '../limits/device-quotas.ts';
import type { ControlPlaneMetrics } from '../metrics/control-plane-metrics.ts';
import type { ManifestSigner } from '../models/manifest-signer.ts';
import type { ModelRegistry } from '../models/model-registry.ts';
import type { BrokerIdentities } from '../mqtt/broker-identities.ts';
import type { ObjectStore } from '../object-store/object-store.ts';
import type { PipelineRunner } from '../pipeline/pipeline-runner.ts';
import type { RolloutEngine } from '../rollouts/rollout-engine.ts';
import type { Store } from '../store/store.ts';

/** `user` is a dashboard session (cookie); the admin token is `admin`. */
export type Principal =
  | { kind: 'admin' }
  | { kind: 'device'; deviceId: string }
  | { kind: 'user'; name: string; role: UserRole };

export interface AppEnv {
  Variables: { principal: Principal };
}

export interface AppDeps {
  config: ControlPlaneConfig;
  store: Store;
  objects: ObjectStore;
  devices: DeviceAuthenticator;
  desired: DesiredStatePublisher;
  signingKey: SigningKey;
  /** The signing keys: the active one and, during a rotation, the previous one. */
  keyring: SigningKeyring;
  signer: ManifestSigner;
  /** Under TLS: the CA that issues device certificates, and the one devices pin. */
  tls?: {
    deviceCa: KeyAndCert;
    serverCa: { pem: string; fingerprint: string } | null;
    deviceCertificateDays: number;
  } | null;
  /** Closes a device's live MQTT connections (embedded broker only); returns how many. */
  disconnectDevice?: (deviceId: string) => number;
  rollouts: RolloutEngine;
  /** Staged rollouts of agent software versions (self-updates). */
  agentRollouts: AgentRolloutEngine;
  /** Group/tag targets and pins: re-resolves a device's desired version when something changes. */
  convergence: Convergence;
  adminToken: string;
  /** Handed to devices at enrollment. */
  mqttPublicUrl: string;
  version: string;
  logger: Logger;
  /** Shared with the pipeline so every publish goes through one queue; built per app if absent. */
  models?: ModelRegistry;
  pipeline?: PipelineRunner;
  /** Dashboard sign-ins; built from config.users by createApp when absent. */
  sessions?: Sessions;
  /** Each device's last live frame (memory only); without it the frame routes answer 404. */
  liveFrames?: LiveFrames;
  /** Tells dashboards what changed (server-sent events); built by createApp when absent. */
  changes?: ChangeFeed;
  /** Alert rules and their state; built (not started) by createApp when absent. */
  alerts?: AlertEngine;
  /** Prometheus metrics; built by createApp when absent. */
  metrics?: ControlPlaneMetrics;
  /** Publishes devices' remote configuration on MQTT; without it devices fetch it over HTTP only. */
  desiredConfig?: DesiredConfigPublisher;
  /** Rate limits and the hashing queue for credential checks; built from config when absent. */
  guard?: CredentialGuard;
  /** Per-device upload quotas; built from config when absent. */
  quotas?: DeviceQuotas;
  /** Check every answer against the contract's documented response (tests turn it on). */
  checkResponses?: boolean;
  /** Gives enrolled devices their broker identity; nothing to provision when absent. */
  brokerIdentities?: BrokerIdentities;
  /** mqtt.hooks secret; the broker hook routes answer 404 without it. */
  brokerHookSecret?: string | null;
  /** Whether the control plane's own MQTT link is up (reported by /health). */
  mqttConnected?: () => boolean;
  /** This replica's id and leadership, when it is one of several (reported by /health). */
  replica?: () => { id: string; leader: boolean };
}
