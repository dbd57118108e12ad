/** Health, enrollment, the fleet's devices and a device's own desired state. */
import { z } from 'zod';
import { FleetTargetSchema } from '../../schemas/fleet-target.ts';
import {
  CreateEnrollmentTokenSchema,
  DeviceSummarySchema,
  EnrollmentTokenResponseSchema,
  EnrollRequestSchema,
  EnrollResponseSchema,
  PinDeviceSchema,
  UpdateDeviceSchema,
} from '../../schemas/http.ts';
import { DesiredStateSchema } from '../../schemas/messages.ts';
import {
  CameraQuerySchema,
  DeviceDetailSchema,
  HealthResponseSchema,
  IdParamsSchema,
  LiveFrameInfoSchema,
} from '../bodies.ts';
import { defineRoute } from '../route.ts';

export const deviceRoutes = {
  getHealth: defineRoute({
    id: 'getHealth',
    method: 'GET',
    path: '/health',
    tag: 'system',
    summary: 'Is the control plane up, and which version',
    access: [],
    responses: { 200: { type: 'json', schema: HealthResponseSchema, description: 'up' } },
  }),
  createEnrollmentToken: defineRoute({
    id: 'createEnrollmentToken',
    method: 'POST',
    path: '/enrollment-tokens',
    tag: 'devices',
    summary: 'Create an enrollment token for N devices',
    description: 'The token is shown once; devices trade it for their own id and secret.',
    access: ['admin'],
    body: { type: 'json', schema: CreateEnrollmentTokenSchema },
    responses: { 201: { type: 'json', schema: EnrollmentTokenResponseSchema, description: 'created' } },
  }),
  enrollDevice: defineRoute({
    id: 'enrollDevice',
    method: 'POST',
    path: '/devices/enroll',
    tag: 'devices',
    summary: 'A device trades an enrollment token for its id, secret and broker URL',
    access: [],
    body: { type: 'json', schema: EnrollRequestSchema },
    bodyLimit: 16 * 1024,
    responses: { 201: { type: 'json', schema: EnrollResponseSchema, description: 'enrolled' } },
  }),
  listDevices: defineRoute({
    id: 'listDevices',
    method: 'GET',
    path: '/devices',
    tag: 'devices',
    summary: 'Every enrolled device',
    access: ['viewer'],
    responses: {
      200: {
        type: 'json',
        schema: z.object({ devices: z.array(DeviceSummarySchema) }),
        description: 'devices',
      },
    },
  }),
  getDevice: defineRoute({
    id: 'getDevice',
    method: 'GET',
    path: '/devices/{id}',
    tag: 'devices',
    summary: 'One device with its last reported state and health',
    access: ['viewer'],
    params: IdParamsSchema,
    responses: { 200: { type: 'json', schema: DeviceDetailSchema, description: 'the device' } },
  }),
  updateDevice: defineRoute({
    id: 'updateDevice',
    method: 'PATCH',
    path: '/devices/{id}',
    tag: 'devices',
    summary: "Change a device's group or tags",
    description:
      'It changes which rollouts the device falls into, and brings it to the target version of its ' +
      'new group or tags (unless it is pinned or a rollout in progress holds it).',
    access: ['operator'],
    params: IdParamsSchema,
    body: { type: 'json', schema: UpdateDeviceSchema },
    responses: { 200: { type: 'json', schema: DeviceSummarySchema, description: 'updated' } },
  }),
  pinDevice: defineRoute({
    id: 'pinDevice',
    method: 'PUT',
    path: '/devices/{id}/pin',
    tag: 'devices',
    summary: 'Pin a device to a model version',
    description:
      'A pin outranks rollouts and group/tag targets: the device is brought to this version and ' +
      'stays there (a rollout in progress lets go of it, later ones leave it out) until unpinned.',
    access: ['admin'],
    params: IdParamsSchema,
    body: { type: 'json', schema: PinDeviceSchema },
    responses: { 200: { type: 'json', schema: DeviceSummarySchema, description: 'pinned' } },
  }),
  unpinDevice: defineRoute({
    id: 'unpinDevice',
    method: 'DELETE',
    path: '/devices/{id}/pin',
    tag: 'devices',
    summary: 'Remove a pin: the device follows its group/tag target again',
    access: ['admin'],
    params: IdParamsSchema,
    responses: { 200: { type: 'json', schema: DeviceSummarySchema, description: 'unpinned' } },
  }),
  listFleetTargets: defineRoute({
    id: 'listFleetTargets',
    method: 'GET',
    path: '/fleet/targets',
    tag: 'devices',
    summary: 'The model version each group, tag set and the whole fleet should run',
    description:
      'Set by completed rollouts (and assignments) to a group, tags or all; devices that enroll or ' +
      'move in later are brought to it.',
    access: ['viewer'],
    responses: {
      200: {
        type: 'json',
        schema: z.object({ targets: z.array(FleetTargetSchema) }),
        description: 'targets, oldest first',
      },
    },
  }),
  getDeviceFrame: defineRoute({
    id: 'getDeviceFrame',
    method: 'GET',
    path: '/devices/{id}/frame',
    tag: 'devices',
    summary: "The device's last live frame: what it saw and answered",
    description: 'One per camera: `?camera=ID`; without it, the newest of any camera.',
    access: ['viewer'],
    params: IdParamsSchema,
    query: CameraQuerySchema,
    responses: { 200: { type: 'json', schema: LiveFrameInfoSchema, description: 'the frame' } },
  }),
  getDeviceFrameJpeg: defineRoute({
    id: 'getDeviceFrameJpeg',
    method: 'GET',
    path: '/devices/{id}/frame.jpg',
    tag: 'devices',
    summary: "The device's last live frame as a JPEG",
    access: ['viewer'],
    params: IdParamsSchema,
    query: CameraQuerySchema,
    responses: { 200: { type: 'binary', contentType: 'image/jpeg', description: 'the JPEG' } },
  }),
  getDesiredState: defineRoute({
    id: 'getDesiredState',
    method: 'GET',
    path: '/device/desired',
    tag: 'device',
    summary: "The calling device's desired model (also retained on MQTT)",
    access: ['device'],
    responses: { 200: { type: 'json', schema: DesiredStateSchema, description: 'desired state' } },
  }),
} as const;
