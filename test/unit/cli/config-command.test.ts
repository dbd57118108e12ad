import { describe, expect, it } from 'vitest';
import { applyAssignment } from '../../../cli/commands/config.ts';

describe('edgeloop config set --set', () => {
  it('changes one key and keeps the rest, camera included', () => {
    const stored = {
      camera: { type: 'rtsp', url: 'rtsp://u:***@h/s', fps: 5 },
      samples: { maxPerMinute: 3 },
    };
    expect(applyAssignment(stored, 'camera.fps=3')).toEqual({
      camera: { type: 'rtsp', url: 'rtsp://u:***@h/s', fps: 3 },
      samples: { maxPerMinute: 3 },
    });
    expect(stored.camera.fps).toBe(5);
  });

  it('reads JSON values and falls back to text, creating sections on the way', () => {
    expect(applyAssignment({}, 'samples.lowConfidenceThreshold=0.4')).toEqual({
      samples: { lowConfidenceThreshold: 0.4 },
    });
    expect(applyAssignment({}, 'predictions.publish=rate')).toEqual({ predictions: { publish: 'rate' } });
    expect(applyAssignment({}, 'samples.classThresholds={"cat":0.3}')).toEqual({
      samples: { classThresholds: { cat: 0.3 } },
    });
    expect(() => applyAssignment({}, 'samples.lowConfidenceThreshold')).toThrow(/KEY=VALUE/);
  });
});
