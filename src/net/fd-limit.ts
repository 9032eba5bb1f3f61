/**
 * The open-file limit decides how many miners one surplus can hold: every
 * miner is a socket, and so is every upstream connection, device API call
 * and HTTP client. Linux's default soft limit (1024) stops a site at about a
 * thousand miners with EMFILE on accept, which looks like miners failing to
 * connect for no reason, so `surplus start` says so up front.
 */

/** Descriptors kept for everything that is not a miner (pools, device APIs, HTTP, files, workers). */
export const FD_RESERVE = 256;

/** The soft "Max open files" from the text of /proc/self/limits (undefined when absent or unlimited). */
export function softOpenFileLimit(limitsText: string): number | undefined {
  const line = limitsText.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
  if (soft === undefined || !/^\d+$/.test(soft)) return undefined;
  return Number(soft);
}

/**
 * A warning when the limit is too low for the fleet (`expectedMiners`: the
 * configured fleet, or 0 when unknown) or for a large site in general.
 */
export function fdLimitWarning(soft: number | undefined, expectedMiners: number): string | undefined {
  if (soft === undefined) return undefined;
  const room = Math.max(0, soft - FD_RESERVE);
  const wanted = Math.max(expectedMiners, 4096 - FD_RESERVE);
  if (room >= wanted) return undefined;
  const fleet = expectedMiners > room ? `, fewer than the ${expectedMiners} configured units` : '';
  return `open-file limit is ${soft}: room for about ${room} miner connections${fleet}; raise it with \`ulimit -n 65536\` or LimitNOFILE=65536 in the systemd unit`;
}
