/**
 * How the agent applies a remote configuration change, restarting only what a changed section
 * touches, and how it tells that the result is healthy. main.ts hands in the few operations it
 * needs, so this module knows nothing of the camera or inference internals:
 *
 *   camera, cameras, frames → the camera set is stopped and started again (new capture processes);
 *                     healthy once the new camera delivers a frame
 *   samples         → a new sample collector (thresholds, rate limits), queue limit, stats threshold
 *   predictions     → a new prediction gate
 *   updates         → nothing: the installer reads it when it next switches a model
 */
import type { AgentConfig, Logger, RemoteSection } from '@edgeloop/shared';
import type { RemoteConfigHooks } from './remote-config.ts';

export interface RemoteConfigTargets {
  restartFrameLoop(settings: AgentConfig): Promise<void>;
  /** Frames the running frame loop's camera delivered since it started. */
  framesCaptured(): number;
  lastCameraError(): string | null;
  setSamples(samples: AgentConfig['samples']): void;
  setPredictions(predictions: AgentConfig['predictions']): void;
  report: RemoteConfigHooks['report'];
  event: RemoteConfigHooks['event'];
  logger: Logger;
  /** How often the frame count is looked at while waiting for the first frame (ms). */
  pollMs?: number;
}

const CAPTURE_SECTIONS: readonly RemoteSection[] = ['camera', 'cameras', 'frames'];

export function applyRemoteConfig(t: RemoteConfigTargets): RemoteConfigHooks {
  const pollMs = t.pollMs ?? 100;
  return {
    async apply(next, _previous, changed) {
      if (changed.some((s) => CAPTURE_SECTIONS.includes(s))) {
        t.logger.info({ changed }, 'restarting the camera for the new configuration');
        await t.restartFrameLoop(next);
      }
      if (changed.includes('samples')) t.setSamples(next.samples);
      if (changed.includes('predictions')) t.setPredictions(next.predictions);
    },
    healthy(changed, signal) {
      // Only a capture change can stop frames; the other sections take effect on the next frame.
      if (!changed.some((s) => CAPTURE_SECTIONS.includes(s))) return Promise.resolve(null);
      return new Promise((resolve) => {
        const done = (problem: string | null) => {
          clearInterval(timer);
          signal.removeEventListener('abort', onAbort);
          resolve(problem);
        };
        const onAbort = () => {
          const error = t.lastCameraError();
          done(`the camera delivered no frame in time${error ? ` (${error})` : ''}`);
        };
        // The frame loop has no per-frame event outside the camera package: look at its counter.
        const timer = setInterval(() => {
          if (t.framesCaptured() > 0) done(null);
        }, pollMs);
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      });
    },
    report: t.report,
    event: t.event,
  };
}
