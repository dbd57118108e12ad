import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cpuTemperatureC } from '../../../agent/src/health/device-health.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A /sys/class/thermal-shaped folder: zone name → [type, millidegrees]. */
async function thermal(zones: Record<string, [string, string]>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'edgeloop-thermal-'));
  dirs.push(root);
  for (const [zone, [type, temp]] of Object.entries(zones)) {
    await mkdir(join(root, zone));
    await writeFile(join(root, zone, 'type'), `${type}\n`);
    await writeFile(join(root, zone, 'temp'), `${temp}\n`);
  }
  return root;
}

describe('cpuTemperatureC', () => {
  it('prefers the zone that names the CPU (Pi cpu-thermal, Jetson CPU-therm, x86_pkg_temp)', async () => {
    const pi = await thermal({ thermal_zone0: ['cpu-thermal', '48312'] });
    expect(cpuTemperatureC(pi)).toBe(48.3);
    const jetson = await thermal({
      thermal_zone0: ['AO-therm', '31500'],
      thermal_zone1: ['CPU-therm', '42000'],
      thermal_zone2: ['GPU-therm', '40500'],
    });
    expect(cpuTemperatureC(jetson)).toBe(42);
  });

  it('falls back to the first zone, and is null where the board exposes none', async () => {
    expect(cpuTemperatureC(await thermal({ thermal_zone0: ['acpitz', '27800'] }))).toBe(27.8);
    expect(cpuTemperatureC(join(tmpdir(), 'edgeloop-no-such-thermal'))).toBeNull();
    expect(cpuTemperatureC(await thermal({}))).toBeNull();
  });
});
