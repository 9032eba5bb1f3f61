import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseVectorFile } from '../../src/shares/vector-file.js';
import { checkVector } from '../../src/shares/check-vector.js';

const text = readFileSync(new URL('../fixtures/share-vectors.json', import.meta.url), 'utf8');
const doc = JSON.parse(text) as { vectors: Array<Record<string, unknown>> };
const slush = (): Record<string, unknown> => structuredClone(doc.vectors[0]!);

describe('share-vector file', () => {
  it.each<[string, (v: Record<string, unknown>) => void, RegExp]>([
    ['nonce too short', (v) => ((v.submit as string[])[4] = '123'), /^vectors\[0\]\.submit\[4\] \(nonce\) must be 8 hex characters, got 3$/],
    ['odd-length coinb2', (v) => ((v.notify as string[])[3] = 'abc'), /vectors\[0\]\.notify\[3\] \(coinb2\) must have an even number/],
    ['non-hex extranonce1', (v) => (v.extranonce1 = 'zz'), /vectors\[0\]\.extranonce1 must contain only hex digits/],
    ['number for a hex field', (v) => ((v.submit as unknown[])[3] = 5), /vectors\[0\]\.submit\[3\] \(ntime\) must be a hex string, got number 5/],
    ['missing extranonce2_size', (v) => delete v.extranonce2_size, /vectors\[0\]\.extranonce2_size must be an integer .* got nothing \(missing\)/],
    ['short branch', (v) => ((v.notify as unknown[])[4] = ['00']), /vectors\[0\]\.notify\[4\]\[0\] \(merkle_branch\) must be 64 hex characters/],
    ['clean_jobs not boolean', (v) => ((v.notify as unknown[])[8] = 'no'), /notify\[8\] \(clean_jobs\) must be true or false/],
    ['negative difficulty', (v) => (v.session_difficulty = -1), /vectors\[0\]\.session_difficulty must be a positive number/],
    ['neither form', (v) => delete v.notify, /vectors\[0\] needs either notify/],
  ])('%s', (_name, mutate, message) => {
    const v = slush();
    mutate(v);
    expect(() => parseVectorFile(JSON.stringify({ vectors: [v] }))).toThrow(message);
  });

  it('a single vector object names fields without a prefix', () => {
    const v = slush();
    (v.submit as string[])[2] = 'abc';
    expect(() => parseVectorFile(JSON.stringify(v))).toThrow(/^submit\[2\] \(extranonce2\) must have an even number/);
  });

  it('check: a share rejected before hashing has no hash (ntime beyond the window: 20)', () => {
    const v = slush();
    (v.submit as string[])[3] = 'ffffffff';
    const [vector] = parseVectorFile(JSON.stringify(v));
    expect(checkVector(vector!)).toEqual({
      id: 'slush-testnet3-bf',
      hash: null,
      difficulty: null,
      accepted: false,
      code: 20,
      reason: 'ntime is more than 7000 s after the job',
      block: false,
    });
  });

  it('check: session difficulty above the share difficulty is a 23 with the hash shown', () => {
    const v = slush();
    v.session_difficulty = 8;
    const line = checkVector(parseVectorFile(JSON.stringify(v))[0]!);
    // A block candidate is always kept, whatever the session difficulty.
    expect(line).toMatchObject({ accepted: true, block: true });
    const b = structuredClone(doc.vectors[1]!);
    b.session_difficulty = 1000;
    expect(checkVector(parseVectorFile(JSON.stringify(b))[0]!)).toMatchObject({ accepted: false, code: 23, block: false, hash: b.share_hash });
  });
});
