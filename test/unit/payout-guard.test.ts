import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkPayout, coinbaseOutputs, expectedScriptHex } from '../../src/upstream/payout-guard.js';

// Real coinbases from the third-party share vectors (see share-vectors.SOURCE.md).
const vectors = JSON.parse(readFileSync(new URL('../fixtures/share-vectors.json', import.meta.url), 'utf8')).vectors as Array<{
  id: string;
  notify: [string, string, string, string, string[], string, string, string, boolean];
  extranonce1: string;
  extranonce2_size: number;
}>;
const bitaxe = vectors.find((v) => v.id === 'public-pool-testnet-bitaxe-versionrolling')!;
const slush = vectors.find((v) => v.id === 'slush-testnet3-bf')!;
const en = (v: typeof bitaxe) => v.extranonce1.length / 2 + v.extranonce2_size;
const job = (v: typeof bitaxe) => ({ coinb1: v.notify[2], coinb2: v.notify[3] });

describe('payout guard', () => {
  it('decodes the outputs of a real segwit coinbase', () => {
    const outs = coinbaseOutputs(bitaxe.notify[2], bitaxe.notify[3], en(bitaxe));
    expect(outs.map((o) => o.valueSats)).toEqual([36986n, 2428731n, 0n]);
    expect(outs[2]!.scriptHex.startsWith('6a24aa21a9ed')).toBe(true); // witness commitment
  });

  it('accepts a job paying the expected bech32 address', () => {
    const hex = expectedScriptHex('tb1qumezefzdeqqwn5zfvgdrhxjzc5ylr39uhuxcz4');
    const v = checkPayout(job(bitaxe), en(bitaxe), hex);
    expect(v.ok).toBe(true);
    if (v.ok) expect(v.paidSats).toBe(36986n + 2428731n);
  });

  it('accepts an expected output script given as hex (P2PKH)', () => {
    const v = checkPayout(job(slush), en(slush), '76a914d23fcdf86f7e756a64a7a9688ef9903327048ed988ac');
    expect(v.ok).toBe(true);
  });

  it('refuses a job that pays someone else', () => {
    const other = expectedScriptHex('tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx');
    const v = checkPayout(job(bitaxe), en(bitaxe), other);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.reason).toMatch(/pays 0 of 2465717 sats/);
  });

  it('refuses a job that diverts the bulk of the reward', () => {
    const hex = expectedScriptHex('tb1qumezefzdeqqwn5zfvgdrhxjzc5ylr39uhuxcz4');
    // Only the small first output pays us when the big one is redirected: swap its script.
    const ours = '160014e6f22ca44dc800e9d049621a3b9a42c509f1c4bc';
    const idx = bitaxe.notify[3].lastIndexOf(ours);
    const hijacked = bitaxe.notify[3].slice(0, idx) + '1600140000000000000000000000000000000000000000' + bitaxe.notify[3].slice(idx + ours.length);
    const v = checkPayout({ coinb1: bitaxe.notify[2], coinb2: hijacked }, en(bitaxe), hex);
    expect(v.ok).toBe(false);
  });

  it('refuses garbage that does not decode, and names bad expectations', () => {
    expect(checkPayout({ coinb1: '01', coinb2: '02' }, 8, 'aa').ok).toBe(false);
    expect(() => expectedScriptHex('not-an-address')).toThrow(/pools\[\]\.expectedPayout/);
  });
});
