/**
 * One step of an orderly stop (the control plane's parts, a leader's duties): run, its error
 * logged rather than thrown (the steps after it still run), and one still running after a while
 * logged by name, again as long, so a stop that hangs says where instead of only never returning.
 */
import type { Logger } from '@edgeloop/shared';

const STILL_RUNNING_EVERY_MS = 5000;

export async function runStopStep(
  logger: Logger,
  step: string,
  run: () => Promise<void> | void,
  what = 'stopping',
): Promise<void> {
  const started = Date.now();
  const slow = setInterval(
    () => logger.warn({ step, ms: Date.now() - started }, `still ${what}`),
    STILL_RUNNING_EVERY_MS,
  );
  try {
    await run();
  } catch (err) {
    logger.error({ err, step }, `error while ${what}`);
  } finally {
    clearInterval(slow);
  }
}
