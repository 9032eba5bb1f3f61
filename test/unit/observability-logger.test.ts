import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';

// Issue 11.7: pino's path redaction missed secrets inside text (a broker URL in a message or an error).
describe('createLogger redaction', () => {
  const capture = () => {
    const stream = new PassThrough();
    const lines: Record<string, any>[] = [];
    stream.on('data', (c: Buffer) => {
      for (const l of c.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, any>);
    });
    return { logger: createLogger({ level: 'debug', destination: stream }), lines };
  };

  it('redacts URLs in fields, messages, format arguments, errors and child loggers', () => {
    const { logger, lines } = capture();
    const err = Object.assign(new RangeError('dial mqtt://site:pa@ss@broker:1883 failed'), { code: 'ECONNREFUSED' });
    logger.child({ part: 'budget' }).warn({ err, url: 'mqtt://site:pa@ss@broker:1883', nested: { mqttPassword: 'pa@ss' } }, 'cannot reach site:pa@ss@broker:1883');
    logger.info('retrying %s with Bearer %s', 'http://h/?token=pa@ss', 'abc.def');
    const text = JSON.stringify(lines);
    expect(text).not.toContain('pa@ss');
    expect(text).not.toContain('ss@broker');
    expect(text).not.toContain('abc.def');
    expect(lines[0]).toMatchObject({ part: 'budget', url: 'mqtt://[redacted]@broker:1883', nested: { mqttPassword: '[redacted]' }, msg: 'cannot reach [redacted]@broker:1883' });
    expect(lines[0]!['err']).toMatchObject({ type: 'RangeError', message: 'dial mqtt://[redacted]@broker:1883 failed', code: 'ECONNREFUSED' });
  });

  it('passes class instances through without walking them', () => {
    const { logger, lines } = capture();
    class Holder {
      self = this;
      toJSON() {
        return { kind: 'holder' };
      }
    }
    logger.info({ holder: new Holder(), n: 1 }, 'ok');
    expect(lines[0]).toMatchObject({ holder: { kind: 'holder' }, n: 1, msg: 'ok' });
  });
});
