/**
 * What /proc/cpuinfo says on a Raspberry Pi 4 (Cortex-A72, part 0xd08), for arm64 programs run
 * under qemu-user. qemu 7.2 (Debian bookworm) passes the host's file through, so an emulated
 * process reads an x86-64 description; onnxruntime's CPU detection (pytorch/cpuinfo) found no ARM
 * core in it and dereferenced NULL on some hosts (an AMD EPYC VM: SIGSEGV while loading
 * onnxruntime-node, before any of our code ran). A device reads its own ARM file, so the tests give
 * the emulated agent one: bind-mounted over /proc/cpuinfo in a mount namespace of its own (root).
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CORE = (n: number) =>
  [
    `processor\t: ${n}`,
    'BogoMIPS\t: 108.00',
    'Features\t: fp asimd evtstrm crc32 cpuid',
    'CPU implementer\t: 0x41',
    'CPU architecture: 8',
    'CPU variant\t: 0x0',
    'CPU part\t: 0xd08',
    'CPU revision\t: 3',
    '',
  ].join('\n');

/** A file holding a 4-core Pi 4's /proc/cpuinfo (written once per test process). */
export function armCpuinfoFile(): string {
  const file = join(tmpdir(), `edgeloop-arm64-cpuinfo-${process.pid}`);
  writeFileSync(
    file,
    `${[0, 1, 2, 3].map(CORE).join('\n')}\nHardware\t: BCM2835\nModel\t: Raspberry Pi 4 Model B\n`,
  );
  return file;
}

/** A shell line that puts the ARM cpuinfo over `<root>/proc/cpuinfo` (proc mounted there first). */
export function bindArmCpuinfo(root = ''): string {
  return `mount --bind ${armCpuinfoFile()} "${root}/proc/cpuinfo"`;
}

/**
 * `command args…` run in its own mount namespace with the ARM cpuinfo; the same process id (no
 * fork), so a test can still read its /proc/<pid>/exe and signal it.
 */
export function withArmCpuinfo(command: string, args: readonly string[]): [string, string[]] {
  return [
    'unshare',
    ['--mount', '--', 'sh', '-c', `${bindArmCpuinfo()} && exec "$0" "$@"`, command, ...args],
  ];
}
