/**
 * Prometheus's own checker of the text exposition format: `promtool check metrics` (Debian package
 * `prometheus`, installed by .ci/run). PROMTOOL names the binary when it is not on PATH.
 */
import { spawn } from 'node:child_process';

export function promtoolPath(): string {
  return process.env.PROMTOOL ?? 'promtool';
}

/** Runs `promtool check metrics` on the text; its exit code and what it printed. */
export function checkMetrics(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(promtoolPath(), ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.on('error', (err) =>
      reject(new Error(`promtool not found (${err.message}): apt-get install prometheus, or set PROMTOOL`)),
    );
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
    child.stdin.end(text);
  });
}

/** The value of one sample (`name{labels} value`) in exposition text, or undefined. */
export function sampleValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const m of (match[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) found[m[1]] = m[2];
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[4]);
  }
  return undefined;
}
