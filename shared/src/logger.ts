/** The one importer of pino. Loggers are created in main.ts and passed down with a component name. */
import { pino } from 'pino';

export type Logger = pino.Logger;
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';

export function createLogger(
  options: { level?: LogLevel; name?: string; destination?: NodeJS.WritableStream } = {},
): Logger {
  return pino({ level: options.level ?? 'info', name: options.name }, options.destination as never);
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
