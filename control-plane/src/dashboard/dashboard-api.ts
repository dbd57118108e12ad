/**
 * The JSON the dashboard reads beyond the ordinary API: who is signed in, the fleet page, one
 * device's telemetry, a live change stream (server-sent events) and "try a model". Reads are open
 * to every dashboard role; trying a model runs a process, so it is an operator action.
 */
import { join } from 'node:path';
import { NotFoundError } from '@edgeloop/shared';
import { streamSSE } from 'hono/streaming';
import { camerasOf } from '../devices/device-cameras.ts';
import { detailOf } from '../devices/device-summary.ts';
import { handlers } from '../http/contract-routes.ts';
import type { AppDeps } from '../http/env.ts';
import type { ChangeFeed } from './change-feed.ts';
import { figuresOf, fleetPage } from './fleet-view.ts';
import { tryModel } from './try-model.ts';

const KEEPALIVE_MS = 15_000;

export function dashboardHandlers(deps: AppDeps, changes: ChangeFeed) {
  const { store, config } = deps;
  return handlers({
    getSession: (_input, c) => {
      const p = c.get('principal');
      const body =
        p.kind === 'user' ? { name: p.name, role: p.role } : { name: 'admin', role: 'admin' as const };
      return { status: 200, body };
    },
    getFleet: async ({ query }) => ({ status: 200, body: await fleetPage(store, query) }),
    getDeviceTelemetry: async ({ params }) => {
      const id = params.id;
      const device = await store.devices.get(id);
      if (!device) throw new NotFoundError(`device '${id}' not found`);
      const points = (await store.dashboard.telemetry([id])).get(id) ?? [];
      const body = {
        device: {
          ...detailOf(device, await deps.convergence.resolve(device)),
          cameras: await camerasOf(store, deps.liveFrames, id, device.health),
        },
        figures: figuresOf(points, device.health),
        telemetry: points,
        events: await store.events.list(id, 50),
        // The device's part in every rollout: from which version to which, and how it ended.
        rollouts: await Promise.all(
          (await store.rollouts.entriesOf(id)).slice(0, 20).map(async (e) => ({
            rolloutId: e.rolloutId,
            modelVersion: (await store.rollouts.get(e.rolloutId))?.modelVersion ?? null,
            previousVersion: e.previousVersion,
            state: e.state,
            reason: e.reason,
            updatedAt: e.updatedAt,
          })),
        ),
        latestSampleId: await store.dashboard.latestSampleId(id),
      };
      return { status: 200, body };
    },
    getEventStream: (_input, c) =>
      streamSSE(c, async (stream) => {
        await stream.writeSSE({ event: 'ready', data: '{}' });
        await new Promise<void>((resolve) => {
          // A write to a stream the browser already closed fails; onAbort then ends this loop.
          const send = (event: string, data: string) => void stream.writeSSE({ event, data }).catch(done);
          const unsubscribe = changes.subscribe((topics) => send('change', JSON.stringify({ topics })));
          const offClose = changes.onClose(done);
          const keepAlive = setInterval(() => send('ping', '{}'), KEEPALIVE_MS);
          stream.onAbort(done);
          function done() {
            unsubscribe();
            offClose();
            clearInterval(keepAlive);
            resolve();
          }
        });
      }),
    tryModel: async ({ body }) => {
      const topK = Math.min(10, Math.max(1, Number(body.topK ?? 5) || 5));
      const result = await tryModel(
        {
          store,
          objects: deps.objects,
          cacheDir: join(config.dataDir, 'try-models'),
          pipeline: config.pipeline,
        },
        {
          modelVersion: Number(body.modelVersion),
          image: new Uint8Array(await body.image.arrayBuffer()),
          topK,
        },
      );
      return { status: 200, body: result };
    },
  });
}
