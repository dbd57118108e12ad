/** Board facts for the heartbeat that only the OS knows: CPU temperature and uptime. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Zone types that measure the SoC/CPU on a Pi (cpu-thermal), Jetson (CPU-therm) and x86 (x86_pkg_temp). */
const CPU_ZONE = /cpu|soc|x86_pkg/i;

/**
 * The CPU temperature in °C from /sys/class/thermal (millidegrees), preferring a zone whose type
 * names the CPU; null where the board exposes none (containers, most VMs).
 */
export function cpuTemperatureC(root = '/sys/class/thermal'): number | null {
  let zones: string[];
  try {
    zones = readdirSync(root)
      .filter((n) => n.startsWith('thermal_zone'))
      .sort();
  } catch {
    return null; // no thermal sysfs at all: nothing to report, not an error
  }
  const read = (zone: string, file: string): string | null => {
    try {
      return readFileSync(join(root, zone, file), 'utf8').trim();
    } catch {
      return null;
    }
  };
  const preferred = zones.find((z) => CPU_ZONE.test(read(z, 'type') ?? '')) ?? zones[0];
  if (!preferred) return null;
  const milli = Number(read(preferred, 'temp'));
  return Number.isFinite(milli) && read(preferred, 'temp') !== null ? Math.round(milli / 100) / 10 : null;
}
