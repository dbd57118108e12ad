import { LoopHealth, type LoopSample } from '@edgeloop/agent';
import { describe, expect, it } from 'vitest';

const cam = (framesCaptured: number, framesHandled: number, failing = false): LoopSample => ({
  cameraId: 'gate',
  framesCaptured,
  framesHandled,
  failing,
});

describe('LoopHealth (when the systemd watchdog ping is withheld)', () => {
  it('stays healthy while frames are classified', () => {
    const h = new LoopHealth(10_000);
    for (let i = 0; i < 10; i++) expect(h.check([cam(i * 5, i * 5)], true, i * 5_000)).toBeNull();
  });

  it('reports a wedged inference: frames arrive, none classified for longer than the stall time', () => {
    const h = new LoopHealth(10_000);
    expect(h.check([cam(10, 10)], true, 0)).toBeNull();
    expect(h.check([cam(20, 10)], true, 5_000)).toBeNull();
    expect(h.check([cam(40, 10)], true, 11_000)).toMatch(
      /camera gate: frames arrive but none was classified for 11 s/,
    );
    // It recovers as soon as a frame is classified again.
    expect(h.check([cam(41, 11)], true, 12_000)).toBeNull();
  });

  it('does not blame the agent for a failing camera, a missing model or a quiet camera', () => {
    const failing = new LoopHealth(10_000);
    failing.check([cam(10, 10)], true, 0);
    expect(failing.check([cam(10, 10, true)], true, 60_000)).toBeNull();

    const noModel = new LoopHealth(10_000);
    noModel.check([cam(10, 0)], false, 0);
    expect(noModel.check([cam(500, 0)], false, 60_000)).toBeNull();

    // No new frames at all (a camera that sends nothing is its capture watchdog's business).
    const quiet = new LoopHealth(10_000);
    quiet.check([cam(10, 10)], true, 0);
    expect(quiet.check([cam(10, 10)], true, 60_000)).toBeNull();
  });
});
