/**
 * The alert rules as pure functions: from what the store says now, the conditions that hold.
 * Each condition has a key (rule + subject) the engine deduplicates on: a key that stays in the
 * result stays one firing alert; a key that leaves it resolves the alert. One-shot conditions
 * (rollout aborted/completed, model promoted) are sent once per key and never resolve.
 */
import type { AlertRuleId, AlertSeverity, AlertsConfig, PipelineRun } from '@edgeloop/shared';
import type { RolloutRecord } from '../store/rollout-store.ts';
import type { DeviceRecord } from '../store/store.ts';

export interface Condition {
  key: string;
  rule: AlertRuleId;
  severity: AlertSeverity;
  subject: { kind: 'device' | 'rollout' | 'pipeline-run'; id: string };
  summary: string;
  details: Record<string, unknown>;
  oneShot: boolean;
}

export interface RuleInput {
  now: Date;
  /**
   * When this control plane started watching: it cannot know what happened while it was down,
   * and right after a start devices are offline until their retained status arrives.
   */
  watchingSince: Date;
  devices: readonly DeviceRecord[];
  rollouts: readonly RolloutRecord[];
  /** Recent runs, newest first. */
  runs: readonly PipelineRun[];
  /** Camera restarts a device reported within the rule's window. */
  restartsInWindow(device: DeviceRecord): number;
  /** A device's baseline and recent mean confidence with the version it runs; null without both. */
  confidence(device: DeviceRecord): { baseline: number; recent: number; modelVersion: number } | null;
  /** Whether an alert with this key is firing now (keeps old conditions past the lookback). */
  isFiring(key: string): boolean;
}

const MINUTE = 60_000;
const pct = (x: number) => `${Math.round(x * 100)}%`;

function deviceName(d: DeviceRecord): string {
  return d.name && d.name !== d.deviceId ? `${d.name} (${d.deviceId})` : d.deviceId;
}

function deviceRules(config: AlertsConfig, input: RuleInput): Condition[] {
  const out: Condition[] = [];
  const now = input.now.getTime();
  for (const d of input.devices) {
    const subject = { kind: 'device' as const, id: d.deviceId };
    if (config.deviceOffline.enabled && !d.online) {
      const since = d.lastSeenAt ?? d.enrolledAt;
      const from = Math.max(Date.parse(since), input.watchingSince.getTime());
      const minutes = (now - from) / MINUTE;
      const key = `device-offline:${d.deviceId}`;
      // An alert that fired before a restart stays open rather than resolving and firing again.
      if (minutes >= config.deviceOffline.minutes || input.isFiring(key)) {
        out.push({
          key,
          rule: 'device-offline',
          severity: 'critical',
          subject,
          summary: d.lastSeenAt
            ? `device ${deviceName(d)} offline since ${since}`
            : `device ${deviceName(d)} has not come online since it enrolled (${since})`,
          details: {
            lastSeenAt: d.lastSeenAt,
            group: d.group,
            thresholdMinutes: config.deviceOffline.minutes,
          },
          oneShot: false,
        });
      }
    }
    if (config.cameraRestarts.enabled) {
      const restarts = input.restartsInWindow(d);
      if (restarts >= config.cameraRestarts.restarts) {
        out.push({
          key: `camera-restarts:${d.deviceId}`,
          rule: 'camera-restarts',
          severity: 'warning',
          subject,
          summary: `camera of ${deviceName(d)} restarted ${restarts} times in ${config.cameraRestarts.windowMinutes} min`,
          details: { restarts, windowMinutes: config.cameraRestarts.windowMinutes },
          oneShot: false,
        });
      }
    }
    const depth = d.health?.queueDepth ?? d.samplesQueued;
    if (config.sampleQueue.enabled && depth >= config.sampleQueue.depth) {
      out.push({
        key: `sample-queue-full:${d.deviceId}`,
        rule: 'sample-queue-full',
        severity: 'warning',
        subject,
        summary: `sample queue of ${deviceName(d)} holds ${depth} samples (alert at ${config.sampleQueue.depth})`,
        details: {
          queueDepth: depth,
          threshold: config.sampleQueue.depth,
          evictions: d.health?.evictions ?? 0,
        },
        oneShot: false,
      });
    }
    const confidence = config.confidenceDrift.enabled ? input.confidence(d) : null;
    if (confidence && confidence.baseline - confidence.recent >= config.confidenceDrift.drop) {
      out.push({
        key: `confidence-drift:${d.deviceId}:${confidence.modelVersion}`,
        rule: 'confidence-drift',
        severity: 'warning',
        subject,
        summary: `mean confidence of ${deviceName(d)} on v${confidence.modelVersion} fell from ${pct(confidence.baseline)} to ${pct(confidence.recent)}`,
        details: { ...confidence, drop: config.confidenceDrift.drop },
        oneShot: false,
      });
    }
  }
  return out;
}

function rolloutRules(config: AlertsConfig, input: RuleInput): Condition[] {
  const out: Condition[] = [];
  const recent = input.now.getTime() - config.eventLookbackMinutes * MINUTE;
  for (const r of input.rollouts) {
    const subject = { kind: 'rollout' as const, id: r.rolloutId };
    const details = { modelVersion: r.modelVersion, target: r.target, reason: r.reason, wave: r.currentWave };
    const because = r.reason ? `: ${r.reason}` : '';
    if (config.rollouts.paused && r.state === 'paused') {
      out.push({
        key: `rollout-paused:${r.rolloutId}`,
        rule: 'rollout-paused',
        severity: 'warning',
        subject,
        summary: `rollout of v${r.modelVersion} paused${because}`,
        details,
        oneShot: false,
      });
    }
    if (Date.parse(r.updatedAt) < recent) continue;
    if (config.rollouts.aborted && r.state === 'aborted') {
      out.push({
        key: `rollout-aborted:${r.rolloutId}`,
        rule: 'rollout-aborted',
        severity: 'critical',
        subject,
        summary: `rollout of v${r.modelVersion} aborted${because}`,
        details,
        oneShot: true,
      });
    }
    if (config.rollouts.completed && r.state === 'completed') {
      out.push({
        key: `rollout-completed:${r.rolloutId}`,
        rule: 'rollout-completed',
        severity: 'info',
        subject,
        summary: `rollout of v${r.modelVersion} completed`,
        details,
        oneShot: true,
      });
    }
  }
  return out;
}

function pipelineRules(config: AlertsConfig, input: RuleInput): Condition[] {
  const out: Condition[] = [];
  const recent = input.now.getTime() - config.eventLookbackMinutes * MINUTE;
  // Runs are newest first: a failure counts until a later run succeeds.
  let succeededLater = false;
  for (const run of input.runs) {
    const subject = { kind: 'pipeline-run' as const, id: run.id };
    const finished = run.finishedAt ? Date.parse(run.finishedAt) : 0;
    if (run.status === 'succeeded') {
      const promote = run.steps.find((s) => s.name === 'promote');
      if (config.pipeline.promoted && promote?.artifacts.promoted === true && finished >= recent) {
        out.push({
          key: `pipeline-promoted:${run.id}`,
          rule: 'pipeline-promoted',
          severity: 'info',
          subject,
          summary: `pipeline run ${run.id} promoted a model${typeof promote.artifacts.reason === 'string' ? `: ${promote.artifacts.reason}` : ''}`,
          details: { ...promote.artifacts },
          oneShot: true,
        });
      }
      succeededLater = true;
    }
    const key = `pipeline-failed:${run.id}`;
    if (
      config.pipeline.failed &&
      run.status === 'failed' &&
      !succeededLater &&
      (finished >= recent || input.isFiring(key))
    ) {
      const step = run.steps.find((s) => s.status === 'failed');
      out.push({
        key,
        rule: 'pipeline-failed',
        severity: 'critical',
        subject,
        summary: `pipeline run ${run.id} failed${step ? ` at step ${step.name}` : ''}: ${run.error ?? step?.error ?? 'unknown error'}`,
        details: { step: step?.name ?? null, error: run.error ?? step?.error ?? null, trigger: run.trigger },
        oneShot: false,
      });
    }
  }
  return out;
}

export function evaluateRules(config: AlertsConfig, input: RuleInput): Condition[] {
  return [...deviceRules(config, input), ...rolloutRules(config, input), ...pipelineRules(config, input)];
}
