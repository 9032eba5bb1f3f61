import type { Clock } from '../../src/clock.js';
import { InputError } from '../../src/errors.js';
import {
  countMinersByState,
  type BudgetControl,
  type BudgetSetting,
  type BudgetView,
  type MinerState,
  type MinerView,
  type SiteStatus,
  type SiteStatusSource,
} from '../../src/operator/snapshots.js';
import { parseBudgetBody } from '../../src/power/http-budget-source.js';
import { EnergyReport } from '../../src/operator/energy-report.js';
import { HistoryRing } from '../../src/operator/history.js';
import { startHttpServer, type HttpServerHandle, type HttpServerOptions } from '../../src/operator/http-server.js';
import { SiteMetrics } from '../../src/operator/metrics.js';

/** `budget.ttlS` of the fake site, for a PUT without one. */
const FAKE_DEFAULT_TTL_S = 300;

/**
 * A small site whose values move with its clock: the budget follows a solar
 * bump, miners switch on as it grows, shares accumulate at a rate set by the
 * hashrate. Tests read these same values back through the HTTP surface.
 */
export class FakeSite implements SiteStatusSource, BudgetControl {
  budget: BudgetView;
  failed = 0;
  decisions: Record<string, number> = { softon: 0, softoff: 0 };
  /** Header states for the dashboard test: the active pool's state, no budget source at all, the demo's clock. */
  poolState: 'up' | 'down' | 'connecting' = 'up';
  noBudget = false;
  simulatedTime: string | undefined;
  private readonly t0: number;

  constructor(
    private readonly clock: Clock,
    readonly minerCount = 6,
    readonly kwPerMiner = 3.5,
    /** 200 TH/s is an ASIC; 5e-6 TH/s (5 MH/s) is a CPU test miner, for the unit scaling. */
    readonly thsPerMiner = 200,
  ) {
    this.t0 = clock.now();
    this.budget = { kw: 12, status: 'live', source: 'http', updatedAtMs: this.t0, expiresAtMs: null };
  }

  /** Seconds since start. */
  private get s(): number {
    return (this.clock.now() - this.t0) / 1000;
  }

  /** The budget wobbles around the operator's setpoint, like a cloudy sky over the panels. */
  budgetKw(): number {
    return Math.max(0, this.budget.kw * (1 + 0.25 * Math.sin(this.s / 3)));
  }

  miners(): MinerView[] {
    const on = Math.min(this.minerCount, Math.floor(this.budgetKw() / this.kwPerMiner));
    const out: MinerView[] = [];
    for (let i = 0; i < this.minerCount; i++) {
      const state: MinerState = i < on ? 'hashing' : i === this.minerCount - 1 ? 'fault' : 'curtailed';
      const hashing = state === 'hashing';
      // Grows at a varying (always positive) rate, so the dashboard's shares/min chart has a shape.
      const accepted = Math.floor((i + 1) * (2 * this.s + 3 * (1 - Math.cos(this.s / 5))));
      out.push({
        id: `m${i + 1}`,
        worker: `site.rig${i + 1}`,
        state,
        mode: hashing ? 'normal' : null,
        kw: hashing ? this.kwPerMiner * (0.97 + 0.01 * (i % 3)) : 0.05,
        hashrateThs: hashing ? this.thsPerMiner : 0,
        shares: { accepted, rejected: Math.floor(accepted / 50), stale: Math.floor(accepted / 200) },
        difficulty: 16384 * (i + 1),
        lastShareAtMs: accepted > 0 ? this.clock.now() - 500 : null,
        // What an Avalon reports over the cgminer API (a spread of temperatures, one stopped fan, one failing unit).
        device: {
          address: `10.0.${(i >> 8) & 255}.${i & 255}:4028`,
          ...(state === 'fault'
            ? { lastError: 'status: no answer within 2000 ms', lastErrorAtMs: this.clock.now() - 30_000 }
            : {
                readAtMs: this.clock.now() - 1000,
                tempMaxC: hashing ? 62 + ((i * 7) % 31) : 30,
                inletC: 25 + (i % 5),
                fansRpm: hashing ? [4200 + (i % 9) * 10, i === 2 ? 0 : 4300] : [0, 0],
                uptimeS: 600 + i * 3671,
                firmware: i % 4 === 3 ? '15-194-24102401_25462b2_9ddf522' : '15-194-25010301_8a1c2f0_77de013',
              }),
        },
      });
    }
    return out;
  }

  status(): SiteStatus {
    const miners = this.miners();
    const accepted = miners.reduce((a, m) => a + m.shares.accepted, 0);
    const rejected = miners.reduce((a, m) => a + m.shares.rejected, 0);
    const hashing = miners.filter((m) => m.state === 'hashing');
    return {
      atMs: this.clock.now(),
      budget: this.noBudget ? { kw: 0, status: 'live', source: 'none', updatedAtMs: null, expiresAtMs: null } : { ...this.budget, kw: this.budgetKw() },
      plannedKw: hashing.length * this.kwPerMiner,
      measuredKw: miners.reduce((a, m) => a + m.kw, 0),
      hashrateThs: hashing.reduce((a, m) => a + m.hashrateThs, 0),
      pools: [
        { url: 'stratum+tcp://127.0.0.1:3334', state: this.poolState, sinceMs: this.t0, connections: this.poolState === 'up' ? 1 : 0, failovers: 2, active: true },
        { url: 'stratum+tcp://127.0.0.1:3335', state: 'down', sinceMs: this.t0, connections: 0, failovers: 0, active: false },
      ],
      minersByState: countMinersByState(miners),
      shares: {
        submitsReceived: accepted + rejected,
        submitsAnswered: accepted + rejected,
        accepted,
        rejected: { 'low-difficulty': Math.floor(rejected / 2), duplicate: rejected - Math.floor(rejected / 2) },
        acceptedDifficulty: miners.reduce((a, m) => a + m.shares.accepted * m.difficulty, 0),
        forwarded: Math.floor(accepted / 10),
        poolAccepted: Math.floor(accepted / 10),
        poolRejected: 0,
        poolTimedOut: 1,
      },
      scheduler: { decisions: { ...this.decisions }, lastDecisionAtMs: this.t0, lastReason: 'budget allows ' + hashing.length + ' units', recent: [] },
      commands: { sent: 10, failed: this.failed, lastLatencyMs: 12 },
      hashQueueDepth: 3,
      ...(this.simulatedTime !== undefined ? { simulatedTime: this.simulatedTime } : {}),
    };
  }

  get(): BudgetView {
    return { ...this.budget };
  }

  /** The real source's validator, then a site limit of its own (a refusal that comes from the source, not the server). */
  put(body: unknown): BudgetSetting {
    const setting = parseBudgetBody(body, FAKE_DEFAULT_TTL_S);
    if (setting.kw > 10_000) throw new InputError(`kw must be <= 10000 (site limit), got ${setting.kw}`);
    const now = this.clock.now();
    this.budget = { ...this.budget, kw: setting.kw, updatedAtMs: now, expiresAtMs: now + setting.ttlS * 1000 };
    return setting;
  }
}

/**
 * The operator HTTP server on loopback port 0 over a FakeSite, with the token
 * and everything else a test or bench does not care about filled in.
 */
export function startFakeSiteServer(site: FakeSite, token: string, extra: Partial<HttpServerOptions> = {}): Promise<HttpServerHandle> {
  return startHttpServer({
    listen: '127.0.0.1:0',
    token,
    source: site,
    budget: site,
    metrics: new SiteMetrics({ source: site, processMetrics: false }),
    history: new HistoryRing(5),
    report: new EnergyReport(),
    ...extra,
  });
}
