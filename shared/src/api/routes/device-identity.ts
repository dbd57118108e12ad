/** Revoking devices, rotating a device's secret, and rotating the manifest signing key. */
import { z } from 'zod';
import {
  RevokeDeviceResponseSchema,
  RotateSecretSchema,
  SigningKeysSchema,
} from '../../schemas/device-identity.ts';
import { IdParamsSchema } from '../bodies.ts';
import { defineRoute } from '../route.ts';

export const deviceIdentityRoutes = {
  revokeDevice: defineRoute({
    id: 'revokeDevice',
    method: 'POST',
    path: '/devices/{id}/revoke',
    tag: 'devices',
    summary: 'Revoke a device: its secret and certificate stop working, its live MQTT connection closes',
    description: 'Undone only by enrolling the device again with a re-enrollment token.',
    access: ['admin'],
    params: IdParamsSchema,
    responses: { 200: { type: 'json', schema: RevokeDeviceResponseSchema, description: 'revoked' } },
  }),
  rotateDeviceSecret: defineRoute({
    id: 'rotateDeviceSecret',
    method: 'PUT',
    path: '/devices/self/secret',
    tag: 'devices',
    summary: 'A device replaces its own secret (the old one stops working)',
    access: ['device'],
    body: { type: 'json', schema: RotateSecretSchema },
    bodyLimit: 4 * 1024,
    responses: {
      200: { type: 'json', schema: z.object({ rotatedAt: z.iso.datetime() }), description: 'replaced' },
    },
  }),
  listSigningKeys: defineRoute({
    id: 'listSigningKeys',
    method: 'GET',
    path: '/signing-keys',
    tag: 'devices',
    summary: 'The manifest signing keys: the active one and any other key devices are told to trust',
    access: ['viewer'],
    responses: { 200: { type: 'json', schema: SigningKeysSchema, description: 'keys' } },
  }),
  rotateSigningKey: defineRoute({
    id: 'rotateSigningKey',
    method: 'POST',
    path: '/signing-keys/rotate',
    tag: 'devices',
    summary: 'Make a new signing key active; the old one stays trusted until retired',
    description:
      'Desired states are signed by both keys meanwhile, so devices that know only the old key learn the new one.',
    access: ['admin'],
    responses: { 200: { type: 'json', schema: SigningKeysSchema, description: 'keys after rotation' } },
  }),
  retireSigningKey: defineRoute({
    id: 'retireSigningKey',
    method: 'POST',
    path: '/signing-keys/{keyId}/retire',
    tag: 'devices',
    summary: 'Stop trusting a signing key that is no longer active; manifests are re-signed',
    access: ['admin'],
    params: z.object({ keyId: z.string().regex(/^[0-9a-f]{16}$/) }),
    responses: { 200: { type: 'json', schema: SigningKeysSchema, description: 'keys after retirement' } },
  }),
} as const;
