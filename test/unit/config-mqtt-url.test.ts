import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';

// Issue 11.7: a '%' in an MQTT URL's password that does not start an escape made the MQTT
// client throw a bare URIError at start; the config now names the key and the fix.
const base = (url: string) => ({
  pools: [{ url: 'stratum+tcp://127.0.0.1:3333', user: 'u' }],
  budget: { source: 'mqtt', url, topic: 't' },
});

describe('budget.url (mqtt) percent escapes', () => {
  it('refuses a bare % and says how to write it, without showing the URL', () => {
    let message = '';
    try {
      resolveConfig(base('mqtt://site:p%zz@broker:1883'));
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/budget\.url.*holds a '%' not followed by two hex digits: write a '%' in the password as %25/);
    expect(message).not.toContain('p%zz');
  });

  it.each(['mqtt://site:p%25zz@broker:1883', 'mqtt://site:p%40ss@broker:1883', 'mqtt://broker:1883'])('accepts %s', (url) => {
    expect(resolveConfig(base(url)).budget).toMatchObject({ url });
  });
});
