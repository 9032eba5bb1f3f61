/** The job a pool sends and a miner works on; wire format, no behaviour. */

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
