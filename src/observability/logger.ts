import { pino, type Logger, type LoggerOptions } from 'pino';
import { redactSecrets, redactText } from '../redact.js';

export type { Logger };

/**
 * Paths that can carry secrets anywhere in a log object. pino's redaction is
 * path-based, so the common nestings are listed explicitly.
 */
export const REDACT_PATHS = [
  'password',
  'token',
  'authorization',
  '*.password',
  '*.token',
  '*.authorization',
  'pools[*].password',
  'config.pools[*].password',
  'config.http.token',
  'req.headers.authorization',
  'headers.authorization',
];

export interface LoggerSettings {
  level?: string;
  /** Human-readable output; defaults to true when stdout is a terminal. */
  pretty?: boolean;
  /** Write to this stream instead of stdout (tests read the NDJSON back). */
  destination?: NodeJS.WritableStream;
}

export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? process.env['SURPLUS_LOG_LEVEL'] ?? 'info',
    base: { name: 'surplus' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    hooks: {
      // Paths catch secrets under known keys; this catches them anywhere in
      // the record and inside text (a broker URL in an error message, issue 11).
      logMethod(args, method) {
        const clean = (args as unknown[]).map((a) => (typeof a === 'string' ? redactText(a) : redactSecrets(a)));
        return method.apply(this, clean as Parameters<typeof method>);
      },
    },
  };
  if (settings.destination) return pino(options, settings.destination as pino.DestinationStream);
  const pretty = settings.pretty ?? process.stdout.isTTY === true;
  if (pretty) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' } },
    });
  }
  return pino(options);
}

/** A logger that drops everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
