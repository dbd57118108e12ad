/** The camera's last few frames, kept (by reference, still encoded) for smoke-testing a candidate. */
import type { Frame } from '../camera/camera.ts';

export class RecentFrames {
  private readonly frames: Frame[] = [];

  constructor(private readonly capacity = 4) {}

  add(frame: Frame): void {
    this.frames.push(frame);
    if (this.frames.length > this.capacity) this.frames.shift();
  }

  list(): readonly Frame[] {
    return [...this.frames];
  }
}
