import { z } from 'zod';

/**
 * A camera's id within its device (agent config `cameras[].id`; 'default' for the single `camera`
 * key). Payloads carry it as an optional `cameraId`: absent means the device's only camera, so
 * payloads of agents from before several cameras stay valid.
 */
export const CameraIdSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_-]{0,31}$/,
    'expected 1-32 characters a-z, 0-9, _ and -, starting with a letter or digit',
  );
