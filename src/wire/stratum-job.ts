/** The job a pool sends and a miner works on: the type and its wire order, no behaviour. */

/** One job as carried by `mining.notify` (params in wire order). */
export interface StratumJob {
  jobId: string;
  /** 32 bytes, as notify sends it (each 4-byte word byte-swapped relative to the header). */
  prevhash: string;
  coinb1: string;
  coinb2: string;
  merkleBranch: string[];
  /** Big-endian hex u32. */
  version: string;
  nbits: string;
  ntime: string;
  cleanJobs: boolean;
}

/** Wire order for `mining.notify` params (what `parseNotify` in pool-dialect.ts reads back). */
export function notifyParams(job: StratumJob): unknown[] {
  return [job.jobId, job.prevhash, job.coinb1, job.coinb2, job.merkleBranch, job.version, job.nbits, job.ntime, job.cleanJobs];
}
