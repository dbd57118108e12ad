/**
 * One agent, several cameras, against the real control plane: two ffmpeg test sources (a red and
 * a blue card) and one whose source does not exist. Both good cameras report, each under its own
 * id and with its own answer; the broken one is restarted by its watchdog and reported as failing
 * without holding the others up; killing one camera's capture process does not stop the other.
 */
import type { Prediction } from '@edgeloop/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE_ID, startTwoCameraAgent, type TwoCameraAgent } from '../../helpers/two-camera-agent.ts';
import { waitUntil } from '../rollouts/fleet.ts';

let rig: TwoCameraAgent;
const predictions: Prediction[] = [];

beforeAll(async () => {
  rig = await startTwoCameraAgent({ broken: true });
  rig.agent.onEvent((e) => {
    if (e.type === 'prediction') predictions.push(e.prediction);
  });
}, 60_000);

afterAll(async () => {
  await rig?.close();
});

const countOf = (cameraId: string) => predictions.filter((p) => p.cameraId === cameraId).length;

async function device() {
  const res = await rig.t.api(`/devices/${DEVICE_ID}`, { admin: true });
  expect(res.status).toBe(200);
  return (await res.json()) as {
    health: { fps: number; cameras?: { cameraId: string; fps: number; failing: boolean }[] } | null;
    cameras: {
      cameraId: string;
      lastPrediction: Prediction | null;
      health: { fps: number; cameraRestarts: number; failing: boolean; lastError: string | null } | null;
      liveFrame: { cameraId: string; frameId: string } | null;
    }[];
  };
}

describe('an agent with several cameras', () => {
  it('reports both good cameras to the control plane, each with its own id and answer', async () => {
    const d = await waitUntil(
      async () => {
        const d = await device();
        const ready = ['front', 'back'].every((id) => {
          const c = d.cameras.find((x) => x.cameraId === id);
          return c?.lastPrediction && c.liveFrame && (c.health?.fps ?? 0) > 0;
        });
        return ready ? d : null;
      },
      'predictions, live frames and heartbeat figures from both cameras',
      30_000,
    );
    const front = d.cameras.find((c) => c.cameraId === 'front')!;
    const back = d.cameras.find((c) => c.cameraId === 'back')!;
    // Each camera's answers are its own: the red card is red, the blue one blue.
    expect(front.lastPrediction!.topK[0].label).toBe('red');
    expect(back.lastPrediction!.topK[0].label).toBe('blue');
    expect(front.lastPrediction!.cameraId).toBe('front');
    expect(front.liveFrame!.cameraId).toBe('front');
    expect(back.liveFrame!.cameraId).toBe('back');

    // Each camera's live frame is served on its own.
    for (const id of ['front', 'back']) {
      const jpeg = await rig.t.api(`/devices/${DEVICE_ID}/frame.jpg?camera=${id}`, { admin: true });
      expect(jpeg.status).toBe(200);
      expect(jpeg.headers.get('content-type')).toBe('image/jpeg');
    }
    const unknown = await rig.t.api(`/devices/${DEVICE_ID}/frame?camera=garage`, { admin: true });
    expect(unknown.status).toBe(404);
    // The device's fps is the sum of its cameras'.
    const perCamera = d.health!.cameras!.map((c) => c.fps);
    expect(d.health!.fps).toBeCloseTo(
      perCamera.reduce((a, b) => a + b, 0),
      0,
    );
  });

  it('restarts the broken camera, reports it as failing, and keeps the others running', async () => {
    const d = await waitUntil(async () => {
      const d = await device();
      const broken = d.cameras.find((c) => c.cameraId === 'broken');
      return (broken?.health?.cameraRestarts ?? 0) >= 2 ? d : null;
    }, 'the broken camera restarted twice');
    const broken = d.cameras.find((c) => c.cameraId === 'broken')!;
    expect(broken.health!.failing).toBe(true);
    expect(broken.health!.lastError).toMatch(/capture process exited/);
    expect(broken.lastPrediction).toBeNull();
    // Its failures reach the control plane as camera-error events naming it.
    const events = await rig.t.cp.store.events.list(DEVICE_ID, 50);
    expect(events.some((e) => e.type === 'camera-error' && e.message.includes("camera 'broken'"))).toBe(true);
    // Meanwhile both good cameras keep classifying.
    const [front, back] = [countOf('front'), countOf('back')];
    await waitUntil(
      () => countOf('front') > front + 5 && countOf('back') > back + 5,
      'more predictions from both good cameras',
    );
  });

  it("keeps the front camera running while the back camera's capture process is killed and restarted", async () => {
    const back = rig.cameras.back;
    // (Between restarts a camera has no process; wait for a running one.)
    const pid = await waitUntil(() => back.pid(), "the back camera's capture process");
    const restartsBefore = rig.agent.stats().cameras.find((c) => c.cameraId === 'back')!.cameraRestarts;
    process.kill(pid!, 'SIGKILL');
    const frontBefore = countOf('front');
    // The watchdog restarts it (a new process)...
    await waitUntil(
      () =>
        rig.agent.stats().cameras.find((c) => c.cameraId === 'back')!.cameraRestarts > restartsBefore &&
        back.pid() !== null &&
        back.pid() !== pid,
      'the back camera restarted',
    );
    const backAfterRestart = countOf('back');
    // ...the front camera never stopped, and the back one classifies again.
    await waitUntil(
      () => countOf('front') > frontBefore + 10 && countOf('back') > backAfterRestart + 3,
      'both cameras classifying after the restart',
    );
    const front = rig.agent.stats().cameras.find((c) => c.cameraId === 'front')!;
    expect(front.failing).toBe(false);
  });
});
