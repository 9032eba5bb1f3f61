/**
 * What the operator surface (HTTP API, metrics, dashboard, energy report)
 * reads. The proxy, scheduler and budget source are adapted to these narrow
 * views at the composition root, so the surface never reaches into their
 * internals and can be tested with a fake source producing real values.
 *
 * Units are in the names: kW, TH/s, milliseconds since the Unix epoch (`AtMs`).
 * Counters named `...Total` or documented as cumulative only ever grow while
 * the process lives.
 */
import { emptyCounters, type ShareCounters } from '../server/worker-stats.js';

/** `live`: fresh values; `holding`: source silent, last value held; `failsafe`: held too long, fail-safe kW applies. */
export type BudgetStatus = 'live' | 'holding' | 'failsafe';
export const BUDGET_STATUSES: readonly BudgetStatus[] = ['live', 'holding', 'failsafe'];

export interface BudgetView {
  /** The budget the scheduler follows now, kW. */
  kw: number;
  status: BudgetStatus;
  /** Which source feeds it: static, http, schedule, mqtt. */
  source: string;
  /** When the source last delivered a value; null if it never did. */
  updatedAtMs: number | null;
  /** When the current value stops being live (TTL); null when it does not expire. */
  expiresAtMs: number | null;
  /**
   * The live reading's look-ahead while it lasts (a sender's lowAhead/aheadS): the lowest budget
   * it expects, kW, and until when; the plan adds nothing above it. Absent without one.
   */
  lowAhead?: { kw: number; untilMs: number };
}

export type PoolState = 'connecting' | 'up' | 'down';

export interface PoolView {
  /** stratum+tcp://host:port (never carries credentials). */
  url: string;
  state: PoolState;
  /** When the pool entered `state`. */
  sinceMs: number;
  /** Open upstream connections to this pool. */
  connections: number;
  /** Times surplus failed over away from this pool (cumulative). */
  failovers: number;
  /** True for the pool currently receiving shares. */
  active: boolean;
  /** Jobs refused by the coinbase payout guard (cumulative; the pool was failed over). */
  payoutMismatches?: number;
  /** Pool input surplus could not use (cumulative): lines that are not JSON-RPC, messages with bad parameters, replies to no request. */
  malformedLines?: number;
  badMessages?: number;
  unknownReplies?: number;
  /** client.reconnect requests from the pool (cumulative). */
  reconnectRequests?: number;
  /** The pool's last error (a failed connect with its cause, a submit timeout, a hung pool, a dropped connection) and when; null: none yet. */
  lastError?: string | null;
  lastErrorAtMs?: number | null;
  /** Connection attempts that failed (cumulative). */
  connectFailures?: number;
  /** Submits the pool did not answer in time (cumulative). */
  submitTimeouts?: number;
  /** Shares the pool never answered because the connection closed first (cumulative; miners were told accepted). */
  sharesLost?: number;
  /** Times the pool was found hung (requests unanswered for upstream.hungAfterS) and left. */
  hungDetections?: number;
  /** Pool difficulties below difficulty.min or beyond any share (cumulative; miners stay clamped). */
  difficultyOutOfRange?: number;
}

/** Block candidates sent upstream (cumulative): `unacknowledged` ones were logged at error level for submission by hand. */
export interface BlockCandidatesView {
  submitted: number;
  accepted: number;
  rejected: number;
  unacknowledged: number;
}

/** Whether the share books balance right now (issue 7); `problems` names any share that went missing. */
export interface AccountingView {
  balanced: boolean;
  problems: string[];
  /** Submits received and not yet answered (being hashed). */
  submitsInFlight: number;
  /** Forwarded shares the pools have not answered yet. */
  poolPending: number;
}

/**
 * A miner's state as the operator sees it. `hashing`: connected and working;
 * `ramping`: switched on, not yet at full hashrate; `curtailed`: off by plan
 * (soft-off or withheld); `disconnected`: expected but not connected;
 * `fault`: the device reports a fault or cannot be reached.
 */
export type MinerState = 'hashing' | 'ramping' | 'curtailed' | 'disconnected' | 'fault' | 'unknown';
export const MINER_STATES: readonly MinerState[] = ['hashing', 'ramping', 'curtailed', 'disconnected', 'fault', 'unknown'];

export interface MinerView {
  id: string;
  worker: string;
  state: MinerState;
  /** Planned work mode name (eco, standard, super...), null when off. */
  mode: string | null;
  /** Measured (or, without a meter, modelled) wall power, kW. */
  kw: number;
  /** Hashrate estimated from accepted shares (or device-reported), TH/s. */
  hashrateThs: number;
  /** Cumulative shares from this miner by verdict. */
  shares: { accepted: number; rejected: number; stale: number };
  /** Current Stratum difficulty assigned to the miner. */
  difficulty: number;
  lastShareAtMs: number | null;
  /** Why the scheduler has this unit in its current state (absent for units it does not plan). */
  reason?: string;
  /** What the device itself reports (cgminer API), for configured units. */
  device?: MinerDevice;
}

/**
 * Per-unit device health (issue 13). Every field is optional: a unit without
 * a device API has only its address absent too, and a device that does not
 * report a value leaves it out rather than showing a made-up one.
 */
export interface MinerDevice {
  /** cgminer API "host:port" from fleet.miners[].api. */
  address?: string;
  /** When the last successful status read came back. */
  readAtMs?: number;
  tempMaxC?: number;
  inletC?: number;
  fansRpm?: number[];
  uptimeS?: number;
  firmware?: string;
  /** The last failed command or read, one line (`status: timed out after 2000 ms`). */
  lastError?: string;
  lastErrorAtMs?: number;
}

/**
 * Cumulative counters of the share path, from the miner's submit to the
 * pool's answer: the proxy's own counters (one definition, in the server),
 * of which the operator views read these.
 */
export type ShareAccounting = Omit<ShareCounters, 'poolLost' | 'blocks'> & {
  /** Forwarded shares whose pool connection closed before the pool answered (the proxy reports it). */
  poolLost?: number;
};

export interface SchedulerView {
  /** Cumulative scheduler actions by kind (softon, softoff, workmode, withhold, release...). */
  decisions: Record<string, number>;
  lastDecisionAtMs: number | null;
  /** One line saying why the last plan looks the way it does. */
  lastReason: string | null;
  /** The most recent decisions, newest last: which unit went from what to what, and why. */
  recent: RecentDecision[];
}

export interface RecentDecision {
  unitId: string;
  /** "off", "unavailable" or a mode name. */
  from: string;
  to: string;
  reason: string;
  atMs: number;
}

export interface CommandView {
  /** Device commands sent, and how many failed (timeouts, refusals), cumulative. */
  sent: number;
  failed: number;
  /** Latency of the most recent command, milliseconds; null before the first. */
  lastLatencyMs: number | null;
}

export interface SiteStatus {
  /** When this snapshot was taken. */
  atMs: number;
  budget: BudgetView;
  /** Power the current plan intends to draw, kW. */
  plannedKw: number;
  /** Sum of measured (or modelled) miner draw, kW. */
  measuredKw: number;
  /** Fleet hashrate, TH/s. */
  hashrateThs: number;
  pools: PoolView[];
  /** Miners per state; every state is present (0 when none). */
  minersByState: Record<MinerState, number>;
  shares: ShareAccounting;
  scheduler: SchedulerView;
  commands: CommandView;
  /** Shares waiting for a hashing worker. */
  hashQueueDepth: number;
  /** Present when the proxy reports its balance check. */
  accounting?: AccountingView;
  /** Present when the proxy reports them. */
  blockCandidates?: BlockCandidatesView;
  /** `surplus demo` only: the time of day the replayed budget trace is at ("HH:MM"). */
  simulatedTime?: string;
  /**
   * What the fleet can shed within the cut deadline and add within 1 and 5 minutes, kW
   * (issue 12 item 9: balancing capacity a utility can book). Present with a scheduler.
   */
  flexibility?: { shedKw: number; shedWithinS: number; add1MinKw: number; add5MinKw: number };
  /** On/off cycles (mean, p95, max) and mode changes per unit since start (issue 12 item 7). Present with a scheduler. */
  wear?: {
    cyclesPerUnit: { mean: number; p95: number; max: number };
    modeChangesPerUnit: { mean: number; max: number };
    /** Modelled energy ramping units had not reached yet, kWh since start. */
    rampUpLossKwh?: number;
    /** Modelled budget room the ramp limit held back, kWh since start. */
    rampLimitCostKwh?: number;
    /** Budget room the wear budget held off (units out of cycles or in a wear hold that would fit), kWh since start. */
    wearHeldKwh?: number;
    /** The same, now, kW. */
    wearHeldKw?: number;
  };
}

/** What the operator surface reads, once per request or scrape. */
export interface SiteStatusSource {
  status(): SiteStatus;
  miners(): MinerView[];
}

/** What a PUT /api/budget set: kW, valid for ttlS seconds. */
export interface BudgetSetting {
  kw: number;
  ttlS: number;
  /** The look-ahead sent with it, if any (as BudgetView.lowAhead). */
  lowAhead?: { kw: number; untilMs: number };
}

/** The HTTP budget source's setter, exposed as `PUT /api/budget`. */
export interface BudgetControl {
  get(): BudgetView;
  /**
   * Validates the decoded JSON body and applies it. The budget source is the
   * one validator (`parseBudgetBody`): throws InputError naming the field on a
   * body it refuses, and nothing changes then.
   */
  put(body: unknown): BudgetSetting;
}

/** Counts miners per state, with every state present. */
export function countMinersByState(miners: readonly Pick<MinerView, 'state'>[]): Record<MinerState, number> {
  const counts = Object.fromEntries(MINER_STATES.map((s) => [s, 0])) as Record<MinerState, number>;
  for (const m of miners) counts[m.state] += 1;
  return counts;
}

/** Total rejected shares over all reasons. */
export function totalRejected(shares: Pick<ShareAccounting, 'rejected'>): number {
  let n = 0;
  for (const v of Object.values(shares.rejected)) n += v;
  return n;
}

/** An all-zero accounting block, handy for sources that have not seen a share yet. */
export function emptyShareAccounting(): ShareAccounting {
  return emptyCounters();
}
