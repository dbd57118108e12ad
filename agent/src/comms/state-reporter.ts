/**
 * Publishes ReportedState (retained) whenever the run status or model changes, on every reconnect,
 * and every reportIntervalMs as a heartbeat with fresh counters.
 */
import {
  type AgentUpdateProgress,
  type AppliedConfig,
  type DeviceHealth,
  type Logger,
  type ModelConfidence,
  PROTOCOL_VERSION,
  type ReportedState,
  type UpdateProgress,
} from '@edgeloop/shared';
import { AGENT_VERSION } from '../version.ts';
import type { MqttLink } from './mqtt-link.ts';

export type RunStatus = ReportedState['status'];

const RUN_STATUS: Record<
  UpdateProgress['phase'],
  (u: Omit<UpdateProgress, 'at'>) => [RunStatus, string | undefined]
> = {
  downloading: (u) => ['downloading', u.detail],
  verifying: (u) => ['verifying', u.detail],
  installed: (u) => ['verifying', u.detail],
  active: () => ['running', undefined],
  failed: (u) => [
    'error',
    `install of version ${u.targetVersion} failed: ${u.detail ?? u.code ?? 'unknown'}`,
  ],
};

export interface StateSnapshot {
  modelVersion: number | null;
  framesProcessed: number;
  samplesQueued: number;
  health?: DeviceHealth;
  modelStats?: ModelConfidence[];
}

export class StateReporter {
  private status: RunStatus = 'starting';
  private detail: string | undefined;
  private lastModel: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private last: ReportedState | null = null;
  private update: UpdateProgress | undefined;
  private config: AppliedConfig | undefined;
  private agentUpdate: AgentUpdateProgress | undefined;

  constructor(
    private readonly link: MqttLink,
    private readonly snapshot: () => StateSnapshot,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  current(): ReportedState | null {
    return this.last;
  }

  setStatus(status: RunStatus, detail?: string): void {
    if (status === this.status && detail === this.detail) return;
    this.status = status;
    this.detail = detail?.slice(0, 500);
    this.report();
  }

  /**
   * Records an update phase and reports it at once (QoS 1). The latest one rides along in every
   * later report, so it is re-reported after each reconnect.
   */
  setUpdate(update: Omit<UpdateProgress, 'at'>): void {
    this.update = { ...update, detail: update.detail?.slice(0, 500), at: new Date().toISOString() };
    // The run status follows from the phase, in the same message: one report per transition.
    const [status, detail] = RUN_STATUS[update.phase](update);
    this.status = status;
    this.detail = detail?.slice(0, 500);
    this.report();
  }

  /** Records what happened to the remote configuration and reports it at once; it rides along after. */
  setConfig(config: AppliedConfig): void {
    this.config = config;
    this.report();
  }

  /** Records an agent self-update phase and reports it at once; it rides along after, like `update`. */
  setAgentUpdate(update: Omit<AgentUpdateProgress, 'at'>): void {
    this.agentUpdate = { ...update, detail: update.detail?.slice(0, 500), at: new Date().toISOString() };
    this.report();
  }

  /** Reports when the model version changed since the last report. */
  modelMaybeChanged(): void {
    if (this.snapshot().modelVersion !== this.lastModel) this.report();
  }

  start(): void {
    this.link.onConnect(() => this.report());
    this.timer = setInterval(() => this.report(), this.intervalMs);
    this.timer.unref();
    this.report();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  report(): void {
    const snap = this.snapshot();
    this.lastModel = snap.modelVersion;
    const state: ReportedState = {
      protocol: PROTOCOL_VERSION,
      modelVersion: snap.modelVersion,
      status: this.status,
      detail: this.detail,
      agentVersion: AGENT_VERSION,
      framesProcessed: snap.framesProcessed,
      samplesQueued: snap.samplesQueued,
      health: snap.health,
      reportedAt: new Date().toISOString(),
      update: this.update,
      modelStats: snap.modelStats,
      config: this.config,
      agentUpdate: this.agentUpdate,
    };
    this.last = state;
    try {
      this.link.publishState(state);
    } catch (err) {
      this.logger.error({ err }, 'reporting state failed');
    }
  }
}
