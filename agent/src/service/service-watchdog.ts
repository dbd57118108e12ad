/**
 * Runs the agent as a systemd service: READY=1 once started, then WATCHDOG=1 every
 * WatchdogSec/2 while the event loop turns on time and the frame loops are healthy
 * (loop-health.ts). When a ping is withheld for WatchdogSec, systemd kills and restarts the agent.
 */
import type { Logger } from '@edgeloop/shared';
import type { Agent } from '../main.ts';
import { LoopHealth } from './loop-health.ts';
import type { ServiceNotifier } from './systemd-notify.ts';

export interface ServiceWatchdog {
  /** STOPPING=1 and no more pings. */
  stop(): Promise<void>;
}

export interface ServiceWatchdogOptions {
  notifier: ServiceNotifier;
  agent: Pick<Agent, 'stats' | 'currentModelVersion'>;
  logger: Logger;
  /** How long frames may arrive unclassified before pings stop (default 60 s). */
  stallMs?: number;
}

export async function startServiceWatchdog(options: ServiceWatchdogOptions): Promise<ServiceWatchdog> {
  const { notifier, agent, logger } = options;
  await notifier.notify('READY=1');
  const interval = notifier.watchdogIntervalMs;
  if (!notifier.enabled || interval === null) {
    return { stop: () => notifier.notify('STOPPING=1') };
  }
  const health = new LoopHealth(options.stallMs ?? 60_000);
  let reported: string | null = null;
  let due = performance.now() + interval;
  const tick = () => {
    const now = performance.now();
    // A timer this late means the event loop was blocked for most of the deadline.
    const lag = now - due;
    due = now + interval;
    const samples = agent.stats().cameras.map((c) => ({
      cameraId: c.cameraId,
      framesCaptured: c.framesCaptured,
      framesHandled: c.framesProcessed + c.framesStatic,
      failing: c.failing,
    }));
    const problem =
      lag > interval
        ? `event loop blocked for ${Math.round(lag)} ms`
        : health.check(samples, agent.currentModelVersion() !== null, now);
    if (problem !== reported) {
      if (problem) logger.error({ problem }, 'loops unhealthy: withholding the systemd watchdog ping');
      else logger.info('loops healthy again: pinging the systemd watchdog');
      reported = problem;
    }
    if (!problem) void notifier.notify('WATCHDOG=1');
  };
  const timer = setInterval(tick, interval);
  timer.unref();
  logger.info({ intervalMs: interval }, 'systemd watchdog pings started');
  return {
    stop: async () => {
      clearInterval(timer);
      await notifier.notify('STOPPING=1');
    },
  };
}
