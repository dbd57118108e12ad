/**
 * How the agent applies a remote configuration change, restarting only what a changed section
 * touches, and how it tells that the result is healthy. main.ts hands in the few operations it
 * needs, so this module knows nothing of the camera or inference internals:
 *
 *   camera, cameras, frames → the camera set is stopped and started again (new capture processes);
 *                     healthy once EVERY camera has delivered `minFrames` frames, none is
 *                     failing and (with a model loaded) each had a frame classified; the reason
 *                     for a revert names the cameras that did not
 *   samples         → a new sample collector (thresholds, rate limits), queue limit, stats threshold
 *   predictions     → a new prediction gate
 *   updates         → nothing: the installer reads it when it next switches a model
 */
import type { AgentConfig, Logger, RemoteSection } from '@edgeloop/shared';
import type { RemoteConfigHooks } from './remote-config.ts';

/** One camera's figures since the camera set (re)started. */
export interface CameraProgress {
  cameraId: string;
  framesCaptured: number;
  /** Frames that went through the model (or were skipped as unchanged by motion gating). */
  framesClassified: number;
  /** Its capture is between restarts (it failed and has not delivered since). */
  failing: boolean;
  lastError: string | null;
}

export interface RemoteConfigTargets {
  restartFrameLoop(settings: AgentConfig): Promise<void>;
  /** Every camera of the running set, in config order. */
  cameraProgress(): CameraProgress[];
  /** Whether a model is loaded: then frames must also come out of it, not only out of the cameras. */
  modelLoaded(): boolean;
  setSamples(samples: AgentConfig['samples']): void;
  setPredictions(predictions: AgentConfig['predictions']): void;
  report: RemoteConfigHooks['report'];
  event: RemoteConfigHooks['event'];
  logger: Logger;
  /** Frames each camera must deliver after a capture change (one frame proves little: a stream can die after its first). */
  minFrames?: number;
  /** How often the counts are looked at while waiting (ms). */
  pollMs?: number;
}

const CAPTURE_SECTIONS: readonly RemoteSection[] = ['camera', 'cameras', 'frames'];
export const DEFAULT_MIN_FRAMES = 3;

/**
 * null when every camera delivered `minFrames`, none is failing and (with a model loaded) each had
 * a frame classified; else what is wrong, naming each camera that is not there yet.
 */
export function cameraProblem(
  progress: CameraProgress[],
  minFrames: number,
  modelLoaded: boolean,
): string | null {
  if (progress.length === 0) return 'no camera is running';
  const problems = progress.flatMap((c) => {
    const error = c.lastError ? ` (${c.lastError})` : '';
    if (c.failing) return [`camera '${c.cameraId}' is failing${error}`];
    if (c.framesCaptured < minFrames)
      return [`camera '${c.cameraId}' delivered ${c.framesCaptured} of ${minFrames} frames${error}`];
    if (modelLoaded && c.framesClassified === 0)
      return [`camera '${c.cameraId}' delivered frames but none was classified`];
    return [];
  });
  return problems.length === 0 ? null : problems.join('; ');
}

export function applyRemoteConfig(t: RemoteConfigTargets): RemoteConfigHooks {
  const pollMs = t.pollMs ?? 100;
  const minFrames = t.minFrames ?? DEFAULT_MIN_FRAMES;
  const problem = () => cameraProblem(t.cameraProgress(), minFrames, t.modelLoaded());
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
      // Only a capture change can stop frames; the other sections take effect on the next frame
      // (and a camera already down must not make an unrelated change revert).
      if (!changed.some((s) => CAPTURE_SECTIONS.includes(s))) return Promise.resolve(null);
      return new Promise((resolve) => {
        const done = (reason: string | null) => {
          clearInterval(timer);
          signal.removeEventListener('abort', onAbort);
          resolve(reason);
        };
        const onAbort = () => done(`not healthy in time: ${problem() ?? 'no frames'}`);
        // The frame loop has no per-frame event outside the camera package: look at its counters.
        const timer = setInterval(() => {
          if (problem() === null) done(null);
        }, pollMs);
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      });
    },
    report: t.report,
    event: t.event,
  };
}
