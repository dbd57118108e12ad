/**
 * Small pieces the remote-configuration and camera tests share: a folder of plain-colour JPEG
 * frames (for folder cameras), and a configuration fragment PUT as an operator sends it.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { TestControlPlane } from '../integration/control-plane/helpers.ts';

const RED = { r: 200, g: 20, b: 20 };
const BLUE = { r: 20, g: 20, b: 200 };

/** Writes one 32×32 JPEG per colour (default: a red a.jpg and a blue b.jpg) into `dir`. */
export async function writeColourFrames(
  dir: string,
  colours: Record<string, { r: number; g: number; b: number }> = { 'a.jpg': RED, 'b.jpg': BLUE },
): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [name, background] of Object.entries(colours)) {
    await sharp({ create: { width: 32, height: 32, channels: 3, background } })
      .jpeg()
      .toFile(join(dir, name));
  }
  return dir;
}

/** PUT /config/fragments/{scope}/{key} as an admin; `dryRun` only validates. */
export function putFragment(
  t: TestControlPlane,
  scope: string,
  key: string,
  settings: unknown,
  dryRun?: boolean,
): Promise<Response> {
  return t.api(`/config/fragments/${scope}/${key}${dryRun ? '?dryRun=true' : ''}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ protocol: 1, settings }),
    admin: true,
  });
}
