import { describe, expect, it } from 'vitest';
import { FD_RESERVE, fdLimitWarning, softOpenFileLimit } from '../../src/net/fd-limit.js';

// The layout of Linux's /proc/self/limits (fs/proc/base.c), as read on Debian.
const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

describe('open-file limit', () => {
  it('reads the soft limit, and nothing from other lines or an unlimited value', () => {
    expect(softOpenFileLimit(LIMITS)).toBe(1024);
    expect(softOpenFileLimit(LIMITS.replace('1024  ', 'unlimited'))).toBeUndefined();
    expect(softOpenFileLimit('Max cpu time unlimited unlimited seconds\n')).toBeUndefined();
    expect(softOpenFileLimit('')).toBeUndefined();
  });

  it('warns at the Linux default, naming the room left and the fix', () => {
    const w = fdLimitWarning(1024, 0);
    expect(w).toContain('open-file limit is 1024');
    expect(w).toContain(`about ${1024 - FD_RESERVE} miner connections`);
    expect(w).toContain('LimitNOFILE');
    expect(w).not.toContain('configured units');
  });

  it('says when the configured fleet does not fit, and is quiet when there is room', () => {
    expect(fdLimitWarning(8192, 10_000)).toContain('fewer than the 10000 configured units');
    expect(fdLimitWarning(65_536, 10_000)).toBeUndefined();
    expect(fdLimitWarning(4096, 40)).toBeUndefined();
    expect(fdLimitWarning(undefined, 10_000)).toBeUndefined();
  });
});
