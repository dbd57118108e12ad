/**
 * The JSON the dashboard reads beyond the ordinary API: who is signed in, the fleet page, one
 * device's telemetry, a live change stream (server-sent events) and "try a model". Reads are open
 * to every dashboard role; trying a model runs a process, so it is an operator action.
 */
import { join } from 'node:path';
import { NotFoundError, ValidationError } from '@edgeloop/shared';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { requireRole } from '../http/auth.ts';
import { limitBody, readForm } from '../http/body.ts';
import type { AppDeps, AppEnv } from '../http/env.ts';
import type { ChangeFeed } from './change-feed.ts';
import { figuresOf, fleetPage, parseFleetQuery } from './fleet-view.ts';
import { tryModel } from './try-model.ts';

const KEEPALIVE_MS = 15_000;
const FORM_OVERHEAD_BYTES = 64 * 1024;

export function dashboardApiRoutes(deps: AppDeps, changes: ChangeFeed) {
  const { store, config } = deps;
  const signedIn = requireRole(deps, 'admin');

  return new Hono<AppEnv>()
    .get('/session', signedIn, (c) => {
      const p = c.get('principal');
      if (p.kind === 'user') return c.json({ name: p.name, role: p.role });
      return c.json({ name: 'admin', role: 'admin' as const });
    })
    .get('/fleet', signedIn, (c) => c.json(fleetPage(store, parseFleetQuery(c.req.query()))))
    .get('/devices/:id/telemetry', signedIn, (c) => {
      const id = c.req.param('id');
      const device = store.getDevice(id);
      if (!device) throw new NotFoundError(`device '${id}' not found`);
      const points = store.dashboard.telemetry([id]).get(id) ?? [];
      return c.json({
        device,
        figures: figuresOf(points, device.health),
        telemetry: points,
        events: store.listEvents(id, 50),
        // The device's part in every rollout: from which version to which, and how it ended.
        rollouts: store.rollouts
          .entriesOf(id)
          .slice(0, 20)
          .map((e) => ({
            rolloutId: e.rolloutId,
            modelVersion: store.rollouts.get(e.rolloutId)?.modelVersion ?? null,
            previousVersion: e.previousVersion,
            state: e.state,
            reason: e.reason,
            updatedAt: e.updatedAt,
          })),
        latestSampleId: store.dashboard.latestSampleId(id),
      });
    })
    .get('/events/stream', signedIn, (c) =>
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
    )
    .post(
      '/try',
      signedIn,
      limitBody(config.limits.sampleMaxBytes + FORM_OVERHEAD_BYTES, 'try-a-model upload'),
      async (c) => {
        const form = await readForm(c);
        const image = form.get('image');
        if (image === null || typeof image === 'string') {
          throw new ValidationError("multipart field 'image' is required as a file");
        }
        const version = Number(form.get('modelVersion'));
        if (!Number.isSafeInteger(version) || version <= 0) {
          throw new ValidationError("field 'modelVersion' must be a positive integer");
        }
        const topK = Math.min(10, Math.max(1, Number(form.get('topK') ?? 5) || 5));
        const result = await tryModel(
          {
            store,
            objects: deps.objects,
            cacheDir: join(config.dataDir, 'try-models'),
            pipeline: config.pipeline,
          },
          { modelVersion: version, image: new Uint8Array(await image.arrayBuffer()), topK },
        );
        return c.json(result);
      },
    );
}
