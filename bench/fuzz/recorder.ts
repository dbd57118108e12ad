/**
 * Counts what the fuzz bench tried and what went wrong. Inputs are sent in small batches of one
 * class (a route and a kind of mutation, a topic, an image shape); when every input of a batch
 * was rejected, the state digest before and after must be equal, or the batch counts in
 * `stateChangedByRejected`. Batches with an accepted input are not compared (accepting changes
 * state, as it should).
 */
import type { FuzzTarget } from './fuzz-target.ts';
import type { openStateReader, StateDigest } from './state-digest.ts';

export interface Attempt {
  rejected: boolean;
  /** A 5xx answer, or an error a well-behaved server never causes (reset connection). */
  unexpected: string | null;
  /** Any other broken property (a tampered manifest that verifies, an error without a code). */
  defect?: string;
}

export interface ClassFigures {
  inputs: number;
  rejected: number;
  unexpected5xx: number;
  stateChanged: number;
}

export class Recorder {
  inputs = 0;
  rejected = 0;
  unexpected5xx = 0;
  stateChangedByRejected = 0;
  crashes = 0;
  otherDefects = 0;
  readonly classes: Record<string, ClassFigures> = {};
  /** The first few defects, for a person to read (never more than 20). */
  readonly defects: string[] = [];

  constructor(
    private readonly state: ReturnType<typeof openStateReader> | null,
    private readonly target: FuzzTarget | null,
  ) {}

  note(defect: string): void {
    if (this.defects.length < 20) this.defects.push(defect.slice(0, 500));
  }

  private figures(name: string): ClassFigures {
    this.classes[name] ??= { inputs: 0, rejected: 0, unexpected5xx: 0, stateChanged: 0 };
    return this.classes[name];
  }

  /** Runs `sends` in order as one batch of class `name`; `settle` waits until the target processed them. */
  async batch(name: string, sends: (() => Promise<Attempt>)[], settle?: () => Promise<void>): Promise<void> {
    const figures = this.figures(name);
    const before: StateDigest | undefined = this.state?.digest();
    let allRejected = true;
    for (const send of sends) {
      const attempt = await send();
      this.inputs++;
      figures.inputs++;
      if (attempt.rejected) {
        this.rejected++;
        figures.rejected++;
      } else allRejected = false;
      if (attempt.unexpected) {
        this.unexpected5xx++;
        figures.unexpected5xx++;
        this.note(`${name}: ${attempt.unexpected}`);
      }
      if (attempt.defect) {
        this.otherDefects++;
        this.note(`${name}: ${attempt.defect}`);
      }
      if (this.target?.exited) break;
    }
    await settle?.();
    if (this.target?.exited && this.crashes === 0) {
      this.crashes++;
      this.note(`${name}: the control plane exited (${JSON.stringify(this.target.exited)})`);
    }
    if (this.state && before && allRejected) {
      const changed = this.state.changed(before, this.state.digest());
      if (changed.length > 0) {
        this.stateChangedByRejected++;
        figures.stateChanged++;
        this.note(`${name}: rejected inputs changed ${changed.join(', ')}`);
      }
    }
  }
}
