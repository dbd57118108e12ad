/**
 * The agent's internal bus: stages announce what happened here; tests and logs listen. MQTT is one
 * adapter at the edge and is not wired through this bus.
 */
import type { AppliedConfig, ClassScore, ErrorCode, Logger, Prediction } from '@edgeloop/shared';

export type AgentEvent =
  | { type: 'model-installed'; modelVersion: number; previousVersion: number | null }
  | { type: 'model-install-failed'; modelVersion: number | null; code: ErrorCode; message: string }
  | { type: 'prediction'; prediction: Prediction }
  | { type: 'camera-restart'; cameraId: string; attempt: number; delayMs: number; message: string }
  | { type: 'sample-queued'; idempotencyKey: string; topK: ClassScore[] }
  | { type: 'sample-uploaded'; idempotencyKey: string; sampleId: string; duplicate: boolean }
  /** The remote configuration's status changed (applying, applied, reverted, rejected). */
  | { type: 'config'; applied: AppliedConfig };

export type AgentEventType = AgentEvent['type'];
export type AgentEventListener = (event: AgentEvent) => void;

export class AgentBus {
  private readonly listeners = new Set<AgentEventListener>();

  constructor(private readonly logger: Logger) {}

  /** Returns a function that removes the listener. */
  on(listener: AgentEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: AgentEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        // A listener is an observer: its failure must not stop the stage that emitted.
        this.logger.error({ err, event: event.type }, 'agent event listener failed');
      }
    }
  }
}
