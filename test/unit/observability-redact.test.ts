import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../../src/observability/redact.js';

describe('redactSecrets', () => {
  it('replaces passwords, tokens and URL credentials at any depth without touching the input', () => {
    const config = {
      pools: [{ url: 'stratum+tcp://pool.example:3333', user: 'acct.worker', password: 'pool-pass-1' }],
      http: { listen: '127.0.0.1:8080', token: 'operator-token-123' },
      budget: { source: 'mqtt', url: 'mqtt://site:mqtt-pass@broker:1883', topic: 't', username: 'site', password: 'mqtt-pass' },
      fleet: { miners: [{ id: 'a', worker: 'w' }] },
    };
    const out = redactSecrets(config);
    const text = JSON.stringify(out);
    for (const secret of ['pool-pass-1', 'operator-token-123', 'mqtt-pass']) expect(text).not.toContain(secret);
    expect(out.pools[0]!.user).toBe('acct.worker');
    expect(out.pools[0]!.password).toBe('[redacted]');
    expect(out.budget.url).toBe('mqtt://[redacted]@broker:1883');
    expect(out.http.listen).toBe('127.0.0.1:8080');
    expect(config.pools[0]!.password).toBe('pool-pass-1');
  });

  it('keeps absent optional secrets absent', () => {
    expect(redactSecrets({ http: { token: undefined, listen: 'x' } })).toEqual({ http: { token: undefined, listen: 'x' } });
  });
});
