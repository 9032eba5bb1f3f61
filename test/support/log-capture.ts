/**
 * A real pino logger whose NDJSON output is read back line by line, so a test
 * asserts what an operator's log would hold (house style: tests that read the
 * log stream as NDJSON).
 */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/observability/logger.js';

export type LogLine = Record<string, unknown> & { level: number; msg: string };

export function captureLog(level: 'debug' | 'info' | 'warn' = 'info'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as LogLine);
      cb();
    },
  });
  return { logger: createLogger({ level, destination }), lines };
}
