import { z } from 'zod';

/**
 * The one configuration schema. Every field carries its default and its unit
 * in its name or its doc; unknown keys are rejected (strictObject) so that a
 * typo fails at start instead of silently doing nothing. Internal code sees
 * only the resolved, frozen result of `loadConfig`.
 */

const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
export const hostPort = z
  .string()
  .regex(HOST_PORT, { message: 'must be "host:port", e.g. "0.0.0.0:3333"' })
  // Only once the shape is right: "nope" is one problem (the shape), not two.
  .refine((s) => !HOST_PORT.test(s) || Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, { message: 'port must be 0..65535' });

const poolUrl = z
  .string()
  .regex(/^stratum\+(tcp|ssl):\/\/(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, {
    message: 'must be stratum+tcp://host:port, or stratum+ssl://host:port for a pool over TLS',
  });

/** TLS towards a stratum+ssl:// pool. */
export const poolTlsSchema = z.strictObject({
  /** PEM file of the CA (or the pool's own self-signed certificate) to trust instead of the system's CAs. */
  caFile: z.string().min(1).optional(),
  /** Do not verify the pool's certificate at all (anyone in the path can then read and change the traffic). Logged as a warning at every start. */
  insecureSkipVerify: z.boolean().default(false),
});

const positive = z.number().positive();

/** True when every '%' in `url` starts a valid escape (the MQTT client decodes the user information). */
function percentEscapesValid(url: string): boolean {
  return !/%(?![0-9a-fA-F]{2})/.test(url);
}
const nonNegative = z.number().nonnegative();

export const poolSchema = z.strictObject({
  /** stratum+tcp://host:port */
  url: poolUrl,
  /** Pool account (worker name); miners' own worker names are not sent upstream. */
  user: z.string().min(1),
  password: z.string().default('x'),
  /** Optional payout guard: the coinbase must pay this address or output script (hex). */
  expectedPayout: z.string().min(1).optional(),
  /**
   * Follow a `client.reconnect` that names another host (default off: only a
   * new port on the same host is followed; otherwise surplus reconnects to this url).
   */
  allowRedirect: z.boolean().optional(),
  /** TLS settings for a stratum+ssl:// url (by default the system's CAs verify the pool's certificate). */
  tls: poolTlsSchema.optional(),
}).refine((p) => p.tls === undefined || p.url.startsWith('stratum+ssl://'), {
  message: 'tls applies only to a stratum+ssl:// url',
  path: ['tls'],
});

export const upstreamSchema = z.strictObject({
  /** Open another upstream connection once this many miners share one (Braiins Farm Proxy uses ~50). */
  maxMinersPerConnection: z.number().int().min(1).default(50),
  /** Extranonce2 bytes left to each miner after carving its prefix (3..8). */
  minerExtranonce2Size: z.number().int().min(3).max(8).default(4),
  /** Seconds to finish subscribe + authorize (+ configure) with a pool. */
  handshakeTimeoutS: positive.default(10),
  /** Seconds to wait for a pool's answer to one request (e.g. a submit). */
  requestTimeoutS: positive.default(15),
  /** A pool silent this long (no job, no answer) is considered dead: fail over. */
  silenceTimeoutS: positive.default(120),
  /**
   * A pool that leaves a share (or another request it owes) unanswered this
   * long, answering nothing meanwhile, is hung (its process stopped, TCP still
   * open): close it and fail over. Seconds; the failover follows within about
   * a tenth of this (issue 11: at most 15 s after the first unanswered share).
   */
  hungAfterS: positive.default(10),
  /** A block candidate the pool has not acknowledged this long is logged at error level with everything needed to submit it by hand. Seconds. */
  blockAckTimeoutS: positive.default(5),
  /** How long a miner that left can resume its session (same extranonce1) by naming it in mining.subscribe. Seconds. */
  resumeWindowS: positive.default(300),
  /** A higher-priority pool must stay up this long before surplus falls back to it. */
  fallbackStableS: positive.default(60),
  /** Reconnect backoff: first delay and cap, milliseconds (jittered exponential). */
  backoffInitialMs: positive.default(500),
  backoffMaxMs: positive.default(30_000),
});

export const difficultySchema = z
  .strictObject({
    /** Difficulty (bdiff) a new miner starts at. Fractional values are allowed (CPU test miners). */
    initial: positive.default(16384),
    min: positive.default(0.0001),
    max: positive.default(1e15),
    /** Vardiff aims at this many shares per minute per miner (default one per 7.5 s). */
    targetSharesPerMinute: positive.default(8),
    /** Least seconds between two vardiff changes of a miner's difficulty (changes also need evidence: src/vardiff/vardiff.ts). */
    retargetS: positive.default(30),
  })
  .refine((d) => d.min <= d.max, { message: 'difficulty.min must be <= difficulty.max', path: ['min'] });

export const sharesSchema = z.strictObject({
  /** Accept ntime in [job ntime, job ntime + ntimeWindowS]. */
  ntimeWindowS: positive.default(7000),
  /** Most shares one miner may submit on one job; each is remembered for duplicate detection while the job is live (beyond it: error 20, counted as job-share-cap). */
  duplicateWindow: z.number().int().min(16).default(4096),
  /** Upstream jobs remembered (older jobs answer "job not found"). */
  jobHistory: z.number().int().min(2).default(16),
  /** Hashing worker threads (0 = one per core). */
  hashThreads: z.number().int().min(0).default(0),
  /** Shares hashed per worker task. */
  batchSize: z.number().int().min(1).default(64),
  /** Bound on shares waiting for a worker; beyond it miners get an error, not a longer queue. */
  maxQueue: z.number().int().min(1).default(50_000),
});

export const httpSchema = z.strictObject({
  /** Operator API, metrics and dashboard; loopback unless you mean otherwise. */
  listen: hostPort.default('127.0.0.1:8080'),
  /** Bearer token for endpoints that change state. Required on a non-loopback address. */
  token: z.string().min(8).optional(),
  /** Open connections in all; beyond it a new one replaces the oldest without a request in progress, or is refused. */
  maxConnections: z.number().int().min(1).default(256),
  /** Open connections from one address (an IPv6 /64 counts as one), so slow clients from one address cannot lock out another. */
  maxConnectionsPerAddress: z.number().int().min(1).default(16),
  /** Seconds from accept (or the previous response) until a request's headers are complete; then 408 and close. */
  headersTimeoutS: positive.default(10),
  /** Seconds from complete headers until the request body is complete; then 408 and close. */
  bodyTimeoutS: positive.default(10),
  /** Seconds without a byte either way before a connection is closed. */
  idleTimeoutS: positive.default(30),
});

export const limitsSchema = z.strictObject({
  /** Longest accepted Stratum line, bytes. */
  maxLineBytes: z.number().int().min(256).default(16 * 1024),
  maxConnectionsPerIp: z.number().int().min(1).default(2000),
  /** A worker's share row unused this long is dropped from /api/miners unless the worker is connected or in the fleet (its shares stay in the totals). Seconds. */
  workerRowIdleS: positive.default(3600),
  /** Drop a connection that has not subscribed and authorized within this many seconds. */
  handshakeTimeoutS: positive.default(30),
  maxSubmitsPerSecond: positive.default(100),
  /** Drop a miner whose unsent output exceeds this many bytes (it stopped reading). */
  maxWriteBufferBytes: z.number().int().min(1024).default(1024 * 1024),
  /** Ban a miner after this many invalid shares within banWindowS (never on the first). At most 100,000: each miner that sends an invalid share keeps a ring of this many times (1e12 failed every such miner's connection with 'Invalid typed array length'). */
  banInvalidShares: z.number().int().min(2).max(100_000).default(500),
  banWindowS: positive.default(600),
  /** After a ban, refuse that worker name from that address at authorize for this many seconds (0: the ban is only the disconnect). Keyed by both: a site may share one NAT address, or give every miner one worker name. */
  banS: z.number().min(0).default(600),
  /** Disconnect after this many malformed lines. */
  maxMalformedLines: z.number().int().min(1).default(5),
});

export const modeSchema = z.strictObject({
  name: z.string().min(1),
  /** Wall power in this mode, kW. */
  kw: positive,
  /** Hashrate in this mode, TH/s. */
  ths: positive,
  /** Value sent with `ascset|0,workmode,set,N`. */
  workmode: z.number().int().min(0).optional(),
});

export const modelSchema = z.strictObject({
  /** Draw while soft-off / idle, kW. */
  standbyKw: nonNegative,
  /** Work modes, any order; the scheduler sorts them. */
  modes: z.array(modeSchema).min(1),
  /** Seconds from softon to full hashrate. */
  rampUpS: nonNegative.default(30),
  /** Seconds between a softoff command and the unit reaching standby. */
  softoffDelayS: nonNegative.default(5),
  /** True when the figures are published nominal values, not site measurements. */
  nominal: z.boolean().default(true),
  /**
   * What a work-mode change does to a running unit (issue 12). `restart` (the
   * default, and what the A10 manual documents): the hash boards restart, the
   * draw drops to standby and ramps to the new mode over `rampUpS`. `instant`:
   * firmware that changes the mode in place, so a mode step is a fast, free
   * lever. Absent means `restart`.
   */
  modeChange: z.enum(['restart', 'instant']).optional(),
});

export const minerSchema = z.strictObject({
  id: z.string().min(1),
  /** Stratum worker name the miner authorizes as. */
  worker: z.string().min(1),
  model: z.string().min(1),
  /** cgminer-style API "host:port" (Avalon: 4028). Without it, the Stratum fail-safe is the only lever. */
  api: hostPort.optional(),
  /** Higher runs first among equally efficient units. */
  priority: z.number().int().default(0),
});

export const fleetSchema = z.strictObject({
  models: z.record(z.string(), modelSchema).default({}),
  miners: z.array(minerSchema).default([]),
  /**
   * A CSV of more units (header `id,worker,model,api`, optional `priority`),
   * relative to the config file; merged with `miners` at load (a duplicate id
   * or worker is an error). `surplus discover --csv` writes one.
   */
  import: z.string().min(1).optional(),
});

export const budgetSchema = z.discriminatedUnion('source', [
  z.strictObject({ source: z.literal('static'), kw: nonNegative, ttlS: positive.optional(), holdLastS: nonNegative.default(60), failsafeKw: nonNegative.default(0) }),
  z.strictObject({ source: z.literal('http'), initialKw: nonNegative.optional(), ttlS: positive.default(300), holdLastS: nonNegative.default(60), failsafeKw: nonNegative.default(0) }),
  z.strictObject({
    source: z.literal('schedule'),
    /** CSV or JSON time series; accepted formats in README "Budget sources" (src/power/trace-parse.ts). */
    file: z.string().min(1),
    interpolation: z.enum(['step', 'linear']).default('step'),
    /** IANA time zone (e.g. "Europe/Berlin") of file timestamps written without an offset; without it they are UTC. */
    timezone: z.string().min(1).optional(),
    /** Replay speed: 60 means one trace minute per wall second (demo). */
    speed: positive.default(1),
    /** Loop the trace (demo). */
    loop: z.boolean().default(false),
    ttlS: positive.default(3600),
    holdLastS: nonNegative.default(60),
    failsafeKw: nonNegative.default(0),
  }),
  z.strictObject({
    source: z.literal('mqtt'),
    url: z
      .string()
      .regex(/^mqtts?:\/\/.+/, { message: 'must be mqtt://host:port or mqtts://host:port' })
      // The MQTT client decodes the user information and threw a bare URIError (with a stack) on a stray '%'.
      .refine(percentEscapesValid, { message: "holds a '%' not followed by two hex digits: write a '%' in the password as %25, or put the password in budget.password" }),
    topic: z.string().min(1),
    username: z.string().optional(),
    password: z.string().optional(),
    ttlS: positive.default(120),
    holdLastS: nonNegative.default(60),
    failsafeKw: nonNegative.default(0),
  }),
]);

export const schedulerSchema = z.strictObject({
  /** Re-plan at least this often, seconds (and on every budget change). */
  tickS: positive.default(5),
  /** Every command of a budget cut is issued within this many seconds. */
  cutDeadlineS: positive.default(10),
  /** Hard floor: a unit stays on at least this long after a switch-on (a cut overrides it), seconds. */
  minOnS: nonNegative.default(300),
  /**
   * Hard floor: a unit stays off at least this long after a switch-off,
   * seconds. Default 60: the wear budget (`maxCyclesPerDay`) counts the
   * cycles, so this floor only spaces them; a unit ahead of the even spend of
   * its budget stays off longer (`wearPaceOffS`). At 300 (the default before
   * issue 12's wear budget), a unit cut on one sharp dip sat out five minutes
   * of sun: 1.6 points of a real variable day (NREL MIDC, 2018-10-14).
   */
  minOffS: nonNegative.default(60),
  /**
   * Ramp limit on load the fleet adds, as a grid code writes it (issue 12):
   * percent of the fleet's top-mode capacity per minute, so it scales with the
   * fleet. 10 %/min of capacity is the ramp-rate limit of PREPA's minimum
   * technical requirements for PV and wind plants (reviewed in NREL/TP-5D00-57089,
   * Gevorgian and Booth 2013), a figure common in solar interconnection
   * requirements, so a grid operator accepts it.
   */
  rampPctPerMin: positive.max(100).default(10),
  /**
   * Floor of the percentage limit, kW per minute: a small fleet's changes are
   * below what a grid operator limits (and one unit must be able to start
   * within a minute). 500 kW/min was the fixed limit before issue 12.
   */
  rampMinKwPerMin: nonNegative.default(500),
  /** Fixed ramp limit, kW per minute; when set it replaces `rampPctPerMin`. */
  rampKwPerMin: positive.optional(),
  /**
   * What the ramp limit applies to. `net` (default): the site's exchange at the
   * point of connection, which is what grid codes limit. Load that follows a
   * rising surplus leaves the exchange flat, so only load added beyond the
   * budget's own rise counts. `load`: every kW the fleet adds counts.
   */
  rampBasis: z.enum(['net', 'load']).default('net'),
  /**
   * Wear budget: switch-ons per unit in any 24 h (issue 12). A unit that has
   * used it stays off until the window frees a cycle (a budget cut still
   * switches units off: safety first). Work-mode changes are not counted here.
   * Default 24: on the synthetic highly variable days (BENCHMARKS.md, "Power
   * loop v2") the policy absorbs 95.1-97.3 % at 24 (20-22 cycles used) and
   * 90.1-92.7 % at 12; mixed days use at most 10 cycles at 24 (98.0-99.1 %),
   * clear days 1. Set 12 where wear matters more than those 5 points, and
   * check the cost with `simulate --bound`.
   */
  maxCyclesPerDay: z.number().int().min(1).default(24),
  /**
   * Opt-in: a unit goes on only into room the budget has offered above what
   * the running units draw at their top mode for this long, seconds (the
   * lowest budget over the hold, so a one-minute sun-break between clouds does
   * not spend cycles). The hold grows as a unit spends its wear budget:
   * hold * used / (max - used), none while it has all of it, 11 holds before the
   * last of 12. Default 0 (no hold): once the controller stopped cutting ahead
   * of cloud edges and kept the net ramp credit until the load follows a rise,
   * every hold tried (4, 8, 15, 30, 60 s) absorbed less on the synthetic days of
   * every kind at every wear budget, for the same cycles (BENCHMARKS.md, "Power
   * loop v2"): a held cycle is spent later anyway, and the hold costs its
   * length on every rise. Units ahead of the even spend of their budget hold
   * anyway (`wearPaceHoldS`), and a restart-mode step up waits until the room
   * has lasted long enough to pay back its restarts, whatever this is.
   */
  onHoldS: nonNegative.default(0),
  /**
   * Pacing of the wear budget, hours (issue 12): the even spend is
   * `maxCyclesPerDay` over this many hours from a unit's first switch-on of the
   * day, after `wearPaceBurst` free ones; a unit ahead of it holds
   * `wearPaceHoldS` × used / (max − used), twice as long per cycle ahead, so a
   * wear budget too small for the day is not all gone on the morning's swings.
   * On the synthetic highly variable days at 6 cycles it absorbs 86 % with
   * pacing and 60-77 % without; at 12 it costs under 0.3 points. 0 turns it off.
   * 10 h is about a surplus day at mid latitudes.
   */
  wearPaceH: nonNegative.max(24).default(10),
  /**
   * Switch-ons a unit may take ahead of the even spend of `wearPaceH`. Absent: a third of
   * `maxCyclesPerDay`, at most 3 (the day's first and two more): 2 of 6, 3 of 12 or 24
   * (policy-wear.ts `defaultPaceBurst`).
   */
  wearPaceBurst: z.number().int().min(1).optional(),
  /**
   * The hold of a unit ahead of the even spend, seconds, × used / (max − used), doubled per cycle
   * ahead. When the budget is read at least once a minute the hold is counted in whole readings:
   * at least one, rounded down (a hold ending between readings learns nothing more), and a late
   * reading from a jittery live source still counts. 0: no hold.
   */
  wearPaceHoldS: nonNegative.default(15),
  /**
   * A unit ahead of the even spend of `wearPaceH` stays off at least this long
   * after it goes off, seconds (a floor above `minOffS`): one cut then covers
   * the next dips of a cloudy spell instead of spending a cycle on each, and
   * a budget too small for the day lasts. 0 turns it off.
   */
  wearPaceOffS: nonNegative.default(300),
  /**
   * For a budget read from a live meter (it changes more often than every
   * 10 s, and flickers): a unit goes on only into room the budget has held
   * this long, seconds. A switch-on loses its softoff lead and half its ramp
   * (about 20 s of an A1566HA's draw), so shorter room does not pay for it and
   * each flicker up and down costs a cycle. 30 is a good value there: on the
   * synthetic days at 1-second resolution (about 1.5 % flicker) clear-a goes
   * from 97.11 % with 24 cycles per unit to 97.58 % with 14, variable-b at 12
   * cycles from 87.66 to 88.29 %. A schedule read once a minute is unaffected.
   * Default 0 (off).
   */
  flickerHoldS: nonNegative.default(0),
  /** Don't add load unless at least this much headroom remains, kW. */
  hysteresisKw: nonNegative.default(0),
  /**
   * At an unchanged budget, swap units for more efficient ones (or re-shuffle
   * modes) only when that hashes at least this much more on the units it
   * touches, percent (each switch restarts a ramp).
   */
  swapMinGainPct: nonNegative.default(3),
  /** At most one such swap round per this many seconds. */
  swapIntervalS: nonNegative.default(300),
  /**
   * Spacing between increase commands (on, mode up) to different units, milliseconds, so
   * inrush and the pool see a staggered start. Cuts are not staggered: they all go out at
   * the cut instant, in parallel (issue 12 item 3).
   */
  commandStaggerMs: nonNegative.default(20),
  /** Stratum fail-safe: seconds without jobs before a curtailed miner is disconnected. */
  withholdGraceS: nonNegative.default(30),
});

export const configSchema = z.strictObject({
  /** Miners connect here: "host:port". */
  listen: hostPort.default('0.0.0.0:3333'),
  /** Pools in failover order. */
  pools: z.array(poolSchema).min(1),
  upstream: upstreamSchema.default(() => upstreamSchema.parse({})),
  difficulty: difficultySchema.default(() => difficultySchema.parse({})),
  shares: sharesSchema.default(() => sharesSchema.parse({})),
  http: httpSchema.default(() => httpSchema.parse({})),
  limits: limitsSchema.default(() => limitsSchema.parse({})),
  budget: budgetSchema.optional(),
  fleet: fleetSchema.default(() => fleetSchema.parse({})),
  scheduler: schedulerSchema.default(() => schedulerSchema.parse({})),
  /** Where the scheduler persists its state (atomic rename), so a restart resumes the plan. */
  stateFile: z.string().optional(),
  /**
   * Publish site status (budget, planned and measured kW, flexibility: kW to shed within
   * the cut deadline, to add within 1 and 5 minutes) as JSON to an MQTT topic (issue 12 item 9).
   */
  statusMqtt: z
    .strictObject({
      url: z.string().regex(/^mqtts?:\/\/.+/, { message: 'must be mqtt://host:port or mqtts://host:port' }),
      topic: z.string().min(1).max(256),
      /** Seconds between messages. */
      intervalS: positive.default(10),
      /** Retained, so a subscriber sees the last status at once. */
      retain: z.boolean().default(true),
      username: z.string().optional(),
      password: z.string().optional(),
    })
    .optional(),
  log: z.strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info') }).default({ level: 'info' }),
});

export type Config = z.infer<typeof configSchema>;
export type PoolConfig = z.infer<typeof poolSchema>;
export type UpstreamConfig = z.infer<typeof upstreamSchema>;
export type DifficultyConfig = z.infer<typeof difficultySchema>;
export type SharesConfig = z.infer<typeof sharesSchema>;
export type HttpConfig = z.infer<typeof httpSchema>;
export type LimitsConfig = z.infer<typeof limitsSchema>;
export type BudgetConfig = z.infer<typeof budgetSchema>;
export type FleetConfig = z.infer<typeof fleetSchema>;
export type ModelConfig = z.infer<typeof modelSchema>;
export type ModeConfig = z.infer<typeof modeSchema>;
export type MinerConfig = z.infer<typeof minerSchema>;
export type SchedulerConfig = z.infer<typeof schedulerSchema>;
