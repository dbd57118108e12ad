/**
 * The one importer of pino. Loggers are created in main.ts and passed down with a component name.
 * Every line is redacted as it is written (redact.ts): an error that quotes a camera URL never
 * puts its password in a log file.
 */
import { pino } from 'pino';
import { redactText } from './redact.ts';

export type Logger = pino.Logger;
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';

export function createLogger(
  options: { level?: LogLevel; name?: string; destination?: NodeJS.WritableStream } = {},
): Logger {
  return pino(
    { level: options.level ?? 'info', name: options.name, hooks: { streamWrite: redactText } },
    options.destination as never,
  );
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
