/** What the dashboard reads beyond the ordinary API: session, fleet page, telemetry, live changes. */
import {
  DeviceTelemetrySchema,
  FleetPageSchema,
  FleetQuerySchema,
  IdParamsSchema,
  SessionSchema,
  TryModelFormSchema,
  TryResultSchema,
} from '../bodies.ts';
import { defineRoute } from '../route.ts';

export const dashboardRoutes = {
  getSession: defineRoute({
    id: 'getSession',
    method: 'GET',
    path: '/session',
    tag: 'dashboard',
    summary: 'Who is signed in, and their role',
    access: ['viewer'],
    responses: { 200: { type: 'json', schema: SessionSchema, description: 'the caller' } },
  }),
  getFleet: defineRoute({
    id: 'getFleet',
    method: 'GET',
    path: '/fleet',
    tag: 'dashboard',
    summary: 'The fleet page: filtered, sorted, paged devices with recent figures and counts',
    access: ['viewer'],
    query: FleetQuerySchema,
    responses: { 200: { type: 'json', schema: FleetPageSchema, description: 'one page' } },
  }),
  getDeviceTelemetry: defineRoute({
    id: 'getDeviceTelemetry',
    method: 'GET',
    path: '/devices/{id}/telemetry',
    tag: 'dashboard',
    summary: "One device's recent predictions, figures, events and rollouts",
    access: ['viewer'],
    params: IdParamsSchema,
    responses: { 200: { type: 'json', schema: DeviceTelemetrySchema, description: 'telemetry' } },
  }),
  getEventStream: defineRoute({
    id: 'getEventStream',
    method: 'GET',
    path: '/events/stream',
    tag: 'dashboard',
    summary: 'Server-sent events naming which topics changed (fleet, models, rollouts, …)',
    access: ['viewer'],
    responses: { 200: { type: 'event-stream', description: "events 'ready', 'change' and 'ping'" } },
  }),
  tryModel: defineRoute({
    id: 'tryModel',
    method: 'POST',
    path: '/try',
    tag: 'dashboard',
    summary: 'Classify one uploaded image with a model version',
    access: ['operator'],
    body: { type: 'multipart', schema: TryModelFormSchema },
    bodyLimit: { limit: 'sampleMaxBytes', overheadBytes: 64 * 1024 },
    responses: { 200: { type: 'json', schema: TryResultSchema, description: 'top-k' } },
  }),
} as const;
