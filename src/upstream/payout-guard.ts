import { address, networks, Transaction } from 'bitcoinjs-lib';
import { ConfigError } from '../errors.js';

/**
 * Coinbase payout guard (pure). A hijacked pool or a poisoned DNS answer can
 * hand the farm jobs whose coinbase pays someone else; the miners would hash
 * for the attacker and every share would still validate. Decoding the
 * coinbase of each upstream job and checking where its value goes catches that
 * before any miner sees the job.
 */

export interface PayoutOutput {
  valueSats: bigint;
  scriptHex: string;
}

export type PayoutVerdict =
  | { ok: true; paidSats: bigint; totalSats: bigint; outputs: PayoutOutput[] }
  | { ok: false; reason: string; outputs: PayoutOutput[] };

/**
 * `expected` is an address (mainnet, testnet/signet or regtest) or an output
 * script in hex. Returns the output script as hex.
 */
export function expectedScriptHex(expected: string): string {
  if (/^[0-9a-fA-F]+$/.test(expected) && expected.length % 2 === 0 && expected.length >= 4) return expected.toLowerCase();
  for (const net of [networks.bitcoin, networks.testnet, networks.regtest]) {
    try {
      return Buffer.from(address.toOutputScript(expected, net)).toString('hex');
    } catch {
      // try the next network
    }
  }
  throw new ConfigError(`pools[].expectedPayout: "${expected}" is neither a Bitcoin address nor an output script in hex`);
}

/** Decodes the outputs of coinb1 ‖ extranonce placeholder ‖ coinb2. */
export function coinbaseOutputs(coinb1: string, coinb2: string, extranonceBytes: number): PayoutOutput[] {
  const tx = Transaction.fromHex(coinb1 + '00'.repeat(extranonceBytes) + coinb2);
  return tx.outs.map((o) => ({ valueSats: BigInt(o.value), scriptHex: Buffer.from(o.script).toString('hex') }));
}

/**
 * The job passes when the expected script receives at least `minFraction` of
 * the coinbase value (default: a strict majority). Pools may add small fee or
 * donation outputs and a zero-value witness commitment; a hijacker must
 * redirect the bulk of the reward to profit, which this refuses.
 */
export function checkPayout(
  job: { coinb1: string; coinb2: string },
  extranonceBytes: number,
  expectedHex: string,
  minFraction = 0.5,
): PayoutVerdict {
  let outputs: PayoutOutput[];
  try {
    outputs = coinbaseOutputs(job.coinb1, job.coinb2, extranonceBytes);
  } catch (err) {
    return { ok: false, reason: `coinbase does not decode: ${(err as Error).message}`, outputs: [] };
  }
  let total = 0n;
  let paid = 0n;
  for (const o of outputs) {
    total += o.valueSats;
    if (o.scriptHex === expectedHex) paid += o.valueSats;
  }
  if (total === 0n) return { ok: false, reason: 'coinbase pays nothing', outputs };
  // Compare in integer basis points to stay exact with bigint sats.
  const needBp = BigInt(Math.round(minFraction * 10_000));
  if (paid * 10_000n <= total * needBp) {
    return {
      ok: false,
      reason: `coinbase pays ${paid} of ${total} sats to the expected payout script (needs more than ${minFraction * 100}%)`,
      outputs,
    };
  }
  return { ok: true, paidSats: paid, totalSats: total, outputs };
}
