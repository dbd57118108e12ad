/**
 * What has started, stopped in reverse order. The agent's close() runs it, and so does a start-up
 * that fails half way: a local-endpoint port clash must not leave a capture process, an inference
 * worker or an MQTT connection behind. One part failing to stop does not keep the rest running.
 */
import type { Logger } from '@edgeloop/shared';

export class StopStack {
  private readonly parts: { what: string; stop: () => unknown }[] = [];

  constructor(private readonly logger: Logger) {}

  /** Registers `stop` right after `what` has started. */
  push(what: string, stop: () => unknown): void {
    this.parts.push({ what, stop });
  }

  /** Stops every registered part, newest first; each at most once. */
  async run(): Promise<void> {
    for (const { what, stop } of this.parts.splice(0).reverse()) {
      const started = performance.now();
      try {
        await stop();
        this.logger.debug({ what, ms: Math.round(performance.now() - started) }, 'stopped');
      } catch (err) {
        this.logger.error({ err, what }, 'error while stopping');
      }
    }
  }
}
