/**
 * End to end power scheduling over real loopback sockets (issue 4): 50
 * simulated Avalon units, each a cgminer API (AvalonSimDevice) plus a Stratum
 * miner that really hashes at the rate its device currently outputs, behind
 * surplus (the real Proxy and Scheduler, composed by Site) and the simulated
 * pool, which validates every share itself. The budget comes over HTTP
 * (PUT /api/budget with the bearer token).
 *
 * Scenario: full budget (all units on) -> 40 % of full -> full again.
 *
 * Time is one ManualClock for every part: the scheduler's timers, the
 * devices' softoff/softon times (Avalon takes whole Unix seconds), the
 * proxy's and the pool's timers and the miners' hashing pace all run on it,
 * as on a site they run on one wall clock, while every byte goes over real
 * loopback sockets. The clock moves 20 ms at a time once the event loop has
 * run what the last step started (test/support/manual-time.ts), so the
 * 15 s scenario costs the work in it, not 15 s. The scenario is recorded (a
 * 50 ms sampler of the devices' own output, the plan, the miners' counters)
 * and the assertions read the recording with bounds derived from the
 * mechanism: issue deadline + softoff lead + the Avalon's whole-second
 * rounding. Timers on a manual clock are never late, so the allowance for
 * late timers (maxLagMs, measured on a wall clock before) is zero.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { every, ManualClock } from '../../src/clock.js';
import { fakeTime } from '../support/manual-time.js';
import { resolveConfig, type ResolvedConfig } from '../../src/config/load.js';
import type { ModelConfig } from '../../src/config/schema.js';
import { silentLogger } from '../../src/observability/logger.js';
import { HttpBudgetSource } from '../../src/power/http-budget-source.js';
import { SimDeviceFleet } from '../../src/demo/device-fleet.js';
import { DeviceMiners, scaledLever } from '../../src/demo/sim-site.js';
import { SimPool } from '../../src/demo/sim-pool.js';
import { Site } from '../../src/site.js';
import { difficultyForHashrate } from '../../src/vardiff/vardiff.js';
import { expectBalanced } from './fault-accounting.js';
import { BUILTIN_MODELS } from '../../src/config/models.js';

const UNITS = 50;
const TOKEN = 'power-fleet-test-token';
// The built-in A1566HA with a fast ramp and lead, so the test's cuts and step-ups settle in seconds.
const MODEL: ModelConfig = { ...BUILTIN_MODELS['avalon-a1566ha']!, rampUpS: 1, softoffDelayS: 1 };
const TOP = MODEL.modes[2]!;
const FULL_KW = UNITS * TOP.kw;
const CUT_KW = 0.4 * FULL_KW;
/** One unit switching on: the ramp limit's allowance for a whole unit (policy.ts). */
const UNIT_STEP_KW = TOP.kw - MODEL.standbyKw;
const SCHEDULER = {
  tickS: 0.5,
  cutDeadlineS: 2,
  minOnS: 1,
  minOffS: 1,
  // 60 kW/s: the step-up from 40 % takes ~4 s, at most ~7.5 units a second.
  rampKwPerMin: 3600,
  // The ramp on every kW added and no on-hold (issue 12 defaults are `net` and 15 s): this
  // test checks the step-up against the ramp limit, unit by unit.
  rampBasis: 'load' as const,
  onHoldS: 0,
  hysteresisKw: 0,
  commandStaggerMs: 10,
  withholdGraceS: 5,
};
/** CPU hashes per second of a miner whose device outputs the top mode. */
const HPS = 1000;
const TARGET_SPM = 60;
/** What the proxy should retarget a unit hashing in a mode of `ths` to (worker-lever.ts: planned hashrate at the target share rate). */
const plannedDifficulty = (ths: number): number => difficultyForHashrate((HPS * ths) / TOP.ths, TARGET_SPM);
// A site-wide starting difficulty 4x too high for any unit: a retarget to the planned
// hashrate is a visible change, and a unit left at it would submit 4x too slowly.
const INITIAL_DIFFICULTY = 4 * plannedDifficulty(TOP.ths);
const POOL_DIFFICULTY = 2 * INITIAL_DIFFICULTY;

interface Sample {
  t: number;
  /** Σ of the devices' own output (what they report as wall power). */
  measuredKw: number;
  /** The scheduler's current plan. */
  plannedKw: number;
  /** Shares the proxy accepted from miners / the pool accepted from the proxy. */
  accepted: number;
  poolAccepted: number;
  /** Per unit, fleet order: the device's TH/s and mode, the miner's counters and difficulty. */
  ths: number[];
  mode: number[];
  submitted: number[];
  /** Hashes each miner has done (a loaded machine does fewer than the nominal rate). */
  hashes: number[];
  difficulty: number[];
}

const rise = (a: number, b: number): number => b - a;

describe('power scheduling end to end: 50 Avalon units, surplus, the simulated pool', () => {
  let pool: SimPool;
  let devices: SimDeviceFleet;
  let site: Site;
  let miners: DeviceMiners;
  let config: ResolvedConfig;
  const samples: Sample[] = [];
  let tCut = 0;
  let tUp = 0;
  let tEnd = 0;
  /** Worst lateness of the loop's timers: none on a manual clock (kept so the bounds below say what they allow). */
  const maxLagMs = 0;
  const cutLagMs = 0;
  const time = fakeTime(new ManualClock(Date.now()));
  const clock = time.clock;
  let settled = false;

  async function putBudget(kw: number): Promise<void> {
    const res = await fetch(`${site.httpUrl}/api/budget`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kw, ttlS: 600 }),
    });
    expect(res.status).toBe(200);
  }

  beforeAll(async () => {
    pool = new SimPool({ difficulty: POOL_DIFFICULTY, jobIntervalMs: 0, clock });
    await pool.start();
    devices = new SimDeviceFleet({ clock, autoTickMs: 250 });
    const units = [];
    for (let i = 1; i <= UNITS; i++) {
      const id = `av${String(i).padStart(2, '0')}`;
      const dev = await devices.add({ id, params: MODEL, initial: { on: true, modeIndex: 2 } });
      units.push({ id, worker: `site.${id}`, model: 'it-avalon', api: dev.address });
    }
    config = resolveConfig({
      listen: '127.0.0.1:0',
      pools: [{ url: pool.url, user: 'site', password: 'x' }],
      http: { listen: '127.0.0.1:0', token: TOKEN },
      // retargetS longer than the run: a difficulty change seen here comes from the plan
      // (expectHashrate) or vardiff's start-up ramp, not from a periodic retarget.
      difficulty: { initial: INITIAL_DIFFICULTY, min: 1e-9, targetSharesPerMinute: TARGET_SPM, retargetS: 600 },
      shares: { hashThreads: 1 },
      fleet: { models: { 'it-avalon': MODEL }, miners: units },
      budget: { source: 'http', initialKw: FULL_KW, ttlS: 600, holdLastS: 60, failsafeKw: 0 },
      scheduler: SCHEDULER,
      log: { level: 'silent' },
    });
    site = await Site.start({ config, logger: silentLogger(), clock, wrapLever: (l) => scaledLever(l, HPS / TOP.ths) });
    expect(site.budgetSource).toBeInstanceOf(HttpBudgetSource);
    miners = new DeviceMiners({
      port: site.minerPort,
      units: config.fleet.miners.map((m) => ({ worker: m.worker, device: devices.get(m.id)! })),
      hashesPerSecond: HPS,
      topThs: TOP.ths,
      clock,
    });
    miners.start();

    const record = (): void => {
      const ths: number[] = [];
      const mode: number[] = [];
      let kw = 0;
      for (const m of config.fleet.miners) {
        const s = devices.get(m.id)!.sample();
        kw += s.kw;
        ths.push(s.ths);
        mode.push(s.modeIndex);
      }
      samples.push({
        t: clock.now(),
        measuredKw: kw,
        plannedKw: site.scheduler!.snapshot().plannedKw,
        accepted: site.proxy.snapshot().shares.accepted,
        poolAccepted: pool.stats.accepted,
        ths,
        mode,
        submitted: miners.miners.map((m) => m.stats.submitted),
        hashes: miners.miners.map((m) => m.stats.hashes),
        difficulty: miners.miners.map((m) => m.stats.difficulty),
      });
    };
    const sampler = every(clock, 50, record);
    /**
     * Each phase lasts at least its nominal time and until the recording holds what the assertions
     * read (the miners find pool shares at random; the deadline only bounds a hang).
     */
    const phase = async (minMs: number, enough: () => boolean, what: string): Promise<void> => {
      const t0 = clock.now();
      await time.pass(minMs);
      while (!enough()) {
        if (clock.now() - t0 > minMs + 20_000) throw new Error(`power-fleet: ${what} not reached`);
        await time.pass(50);
      }
    };
    try {
      await phase(2000, () => samples.length >= 20 && (samples.at(-1)?.poolAccepted ?? 0) > 0, 'samples and a pool share at full budget');
      tCut = clock.now();
      await putBudget(CUT_KW);
      // ...and until the units left running have sent a few shares in the last 3 s (a stalled
      // process hashes nothing for a while, then catches up).
      let endOfCut = 0;
      await phase(5500, () => {
        endOfCut = clock.now();
        return between(tCut + cutBoundMs(maxLagMs), Infinity).length >= 10 && runningAfterCut(endOfCut).sent > 5;
      }, 'ten samples past the cut bound, shares from the running units');
      tUp = endOfCut;
      await putBudget(FULL_KW);
      // The plan back near full, and the mode step ups done: they wait until the room can pay back
      // the restart up and the one back down ((8.1 + 7.3) kW x 1 s / 2 / 0.8 kW = 9.6 s, policy.ts).
      await phase(12_000, () => (samples.at(-1)?.plannedKw ?? 0) >= 0.97 * FULL_KW, 'the plan back near full');
      record();
      tEnd = clock.now();
    } finally {
      sampler.stop();
    }
    // Stop hashing but stay connected until every submit in flight is answered.
    miners.pause();
    for (let i = 0; i < 60 && !settled; i++) {
      await time.pass(50);
      settled = miners.miners.every((m) => m.settled) && site.proxy.snapshot().accounting.poolPending === 0;
    }
  }, 120_000);

  afterAll(async () => {
    miners?.close();
    await site?.close();
    await devices?.close();
    await pool?.stop();
  });

  /** Units hashing throughout the 3 s before `end`, and the shares they sent in it. */
  function runningAfterCut(end: number): { running: number[]; sent: number } {
    const window = between(end - 3000, end);
    if (window.length < 2) return { running: [], sent: 0 };
    const running = [...Array(UNITS).keys()].filter((u) => window.every((s) => s.ths[u]! > 0));
    const sent = running.reduce((n, u) => n + window.at(-1)!.submitted[u]! - window[0]!.submitted[u]!, 0);
    return { running, sent };
  }
  function between(from: number, to: number): Sample[] {
    return samples.filter((s) => s.t >= from && s.t < to);
  }
  /** Cut deadline: every command issued by cutDeadlineS, each softoff effective softoffDelayS later, in whole Unix seconds (up to 1 s more). */
  function cutBoundMs(lagMs = cutLagMs): number {
    return (SCHEDULER.cutDeadlineS + MODEL.softoffDelayS + 1) * 1000 + lagMs + 250;
  }

  it('starts at the full budget with every unit hashing and shares reaching the pool', () => {
    // The last dozen samples before the cut, however far apart a busy machine spaced them.
    const before = between(0, tCut).slice(-12);
    expect(before.length).toBe(12);
    for (const s of before) {
      expect(s.measuredKw).toBeCloseTo(FULL_KW, 6);
      expect(s.ths.every((x) => x === TOP.ths)).toBe(true);
    }
    expect(before.at(-1)!.poolAccepted).toBeGreaterThan(0);
  });

  it('brings the measured draw under a 40 % budget within cutDeadlineS + the softoff delay', () => {
    const bound = cutBoundMs();
    const preCut = between(0, tCut).at(-1)!.measuredKw;
    const phase = between(tCut, tUp);
    // Mode changes restart boards (draw dips, then re-ramps): never above the draw before the cut.
    for (const s of phase) expect(s.measuredKw).toBeLessThanOrEqual(preCut + 1e-9);
    const late = phase.filter((s) => s.t >= tCut + bound);
    expect(late.length).toBeGreaterThan(8);
    for (const s of late) expect(s.measuredKw, `at +${s.t - tCut} ms`).toBeLessThanOrEqual(CUT_KW + 1e-9);
    // The devices' own record of when each softoff took effect, not the sampler's view.
    const offs = [...devices.all()].map((d) => d.model.lastSoftOffAtMs).filter((t): t is number => t !== undefined && t >= tCut && t < tUp);
    // Every unit that sat in standby for the last half second of the phase (at least its last 3 samples) has one.
    const lastHalfSecond = phase.filter((s) => s.t >= tUp - 500);
    const last = lastHalfSecond.length >= 3 ? lastHalfSecond : phase.slice(-3);
    const standing = [...Array(UNITS).keys()].filter((u) => last.every((s) => s.ths[u] === 0)).length;
    expect(offs.length).toBeGreaterThanOrEqual(standing);
    expect(standing).toBeGreaterThan(UNITS * 0.4);
    for (const t of offs) expect(t - tCut).toBeLessThanOrEqual(bound);
    // Shedding, not blacking out: the remaining draw uses most of the budget.
    expect(late.at(-1)!.measuredKw).toBeGreaterThan(CUT_KW - UNIT_STEP_KW);
  });

  it('steps back up to full at the ramp limit, plan and measured draw alike', () => {
    const ratePerMs = SCHEDULER.rampKwPerMin / 60_000;
    const tickMs = SCHEDULER.tickS * 1000;
    const curve = [between(0, tUp).at(-1)!, ...between(tUp, tEnd + 1)];
    // New load on the devices: the highest draw so far. A workmode change restarts the boards
    // (the draw dips to standby and re-ramps, device-model.ts); climbing back out of that dip
    // to where the draw already was adds no load, so it is not counted against the ramp.
    let peak = 0;
    const envelope = curve.map((s) => (peak = Math.max(peak, s.measuredKw)));
    for (let i = 0; i < curve.length; i++) {
      for (let j = i + 1; j < curve.length; j++) {
        const a = curve[i]!;
        const b = curve[j]!;
        const dt = b.t - a.t;
        // Policy: a plan may add what the ramp allows since the last plan, at most one tick's worth, plus one unit's step.
        expect(rise(a.plannedKw, b.plannedKw), `planned +${a.t - tUp}..+${b.t - tUp} ms`).toBeLessThanOrEqual(ratePerMs * (dt + tickMs) + UNIT_STEP_KW + 1e-6);
        // Devices: softons take effect softoffDelayS later in whole seconds (so up to 1 s of commands start
        // together) and then ramp over rampUpS; neither lets the draw outrun the plan by more than that.
        expect(rise(envelope[i]!, envelope[j]!), `measured +${a.t - tUp}..+${b.t - tUp} ms`).toBeLessThanOrEqual(
          ratePerMs * (dt + tickMs + 1000 + MODEL.rampUpS * 1000) + UNIT_STEP_KW + 1e-6,
        );
      }
    }
    // The limit is visible: the plan takes at least what the ramp allows to get near full...
    const from = curve[0]!.plannedKw;
    const near = curve.find((s) => s.plannedKw >= 0.9 * FULL_KW);
    expect(near, 'planned 90 % of full').toBeDefined();
    expect(near!.t - tUp).toBeGreaterThanOrEqual((0.9 * FULL_KW - from - UNIT_STEP_KW) / ratePerMs - tickMs);
    // ...and gets there: the last units wait out their minimum on-time in a lower mode before moving up.
    expect(curve.at(-1)!.plannedKw).toBeGreaterThanOrEqual(0.97 * FULL_KW);
    expect(peak).toBeGreaterThanOrEqual(0.85 * FULL_KW);
  });

  it('keeps shares flowing from running units in every phase; units that are off submit nothing', () => {
    const phases: Array<[number, number]> = [
      [samples[0]!.t, tCut],
      [tCut, tUp],
      [tUp, tEnd + 1],
    ];
    for (const [a, b] of phases) {
      const ph = between(a, b);
      expect(ph.at(-1)!.poolAccepted, `pool accepted in phase +${a - tCut} ms`).toBeGreaterThan(ph[0]!.poolAccepted);
    }
    // Throughout: in every 2 s window from the first accepted share on, the proxy accepted more.
    // (~20 units hash at ~1 share/s each; the window allows for a whole-process pause of a
    // second or so when another test file shares the 2 cores, which stalls every miner at once,
    // widened by the worst pause this process actually had.)
    const windowMs = 2000 + maxLagMs;
    const first = samples.find((s) => s.accepted > 0)!;
    for (const s of samples.filter((x) => x.t >= first.t + windowMs)) {
      const windowAgo = samples.filter((x) => x.t <= s.t - windowMs).at(-1)!;
      expect(s.accepted, `accepted by +${s.t - tCut} ms`).toBeGreaterThan(windowAgo.accepted);
    }
    // A unit whose device output was zero at both ends of a sampling interval hashed nothing in it.
    let checked = 0;
    for (let k = 1; k < samples.length; k++) {
      const p = samples[k - 1]!;
      const s = samples[k]!;
      for (let u = 0; u < UNITS; u++) {
        if (p.ths[u] !== 0 || s.ths[u] !== 0) continue;
        checked++;
        expect(s.submitted[u], `unit ${u} submitted while off`).toBe(p.submitted[u]);
      }
    }
    expect(checked).toBeGreaterThan(UNITS * 0.5 * 40);
    // The units left running after the cut kept submitting (~1/s each once retargeted, 1/4 s at the initial difficulty).
    const { running, sent } = runningAfterCut(tUp);
    expect(running.length).toBeGreaterThan(10);
    expect(sent).toBeGreaterThan(5);
  });

  it('retargets a unit to its planned hashrate when it switches on or changes mode (set_difficulty reaches the miner first)', () => {
    let ons = 0;
    let modeChanges = 0;
    const workingFrom = new Map<number, number>();
    for (let k = 1; k < samples.length; k++) {
      const p = samples[k - 1]!;
      const s = samples[k]!;
      for (let u = 0; u < UNITS; u++) {
        const switchedOn = p.ths[u] === 0 && s.ths[u]! > 0;
        const newMode = s.mode[u] !== p.mode[u] && s.ths[u]! > 0;
        if (!switchedOn && !newMode) continue;
        if (switchedOn) ons++;
        else modeChanges++;
        // The device just started hashing in this mode: the miner already has the planned difficulty
        // for it, or for the mode the device takes next when a newer plan changed the mode while the
        // device was still switching (seen under load: off -> standard decided, standard -> super
        // decided before the softon took effect; the super set_difficulty rightly came ahead of the
        // device, which hashed ~100 ms in standard on its way to super).
        const next = samples.slice(k + 1).find((y) => y.t - s.t <= 2000 && y.ths[u]! > 0 && y.mode[u] !== s.mode[u]);
        const modes = next ? [s.mode[u]!, next.mode[u]!] : [s.mode[u]!];
        const matches = (x: Sample): boolean => modes.some((m) => Math.abs(x.difficulty[u]! / plannedDifficulty(MODEL.modes[m]!.ths) - 1) < 1e-6);
        // One more exception, from the test rig rather than the proxy: a sample taken right after a
        // whole-process stall (over two sampler periods since the last one) reads the device's
        // clock-driven state before the miner has read a set_difficulty already in its socket, since
        // timers run before I/O in an event-loop turn; the next sample, one turn later, must show it.
        const judged = !matches(s) && s.t - p.t > 100 && k + 1 < samples.length ? samples[k + 1]! : s;
        expect(matches(judged), `unit ${u} at +${judged.t - tCut} ms: difficulty ${judged.difficulty[u]} for ${modes.map((m) => MODEL.modes[m]!.name).join(' or ')}`).toBe(true);
        if (switchedOn && s.t >= tUp) workingFrom.set(u, k);
      }
    }
    expect(ons).toBeGreaterThanOrEqual(Math.floor(UNITS * 0.5));
    // Share rate of the units switched on in the step-up, from the moment they hash at full output:
    // near the target (a unit left at the site's initial difficulty would send a quarter of it).
    // The target is scaled by the hashes the CPU miners really did: on a loaded machine they do
    // fewer than the nominal rate, which is the test rig's shortfall, not the proxy's.
    let shares = 0;
    let minutes = 0;
    let atTarget = 0;
    const last = samples.at(-1)!;
    for (const [u, k] of workingFrom) {
      const full = samples.findIndex((s, i) => i >= k && s.ths[u] === MODEL.modes[s.mode[u]!]!.ths);
      if (full < 0) continue;
      shares += last.submitted[u]! - samples[full]!.submitted[u]!;
      minutes += (last.t - samples[full]!.t) / 60_000;
      for (let j = full + 1; j < samples.length; j++) {
        const a = samples[j - 1]!;
        const nominalHps = (HPS * MODEL.modes[a.mode[u]!]!.ths) / TOP.ths;
        // The share rate the plan aims at, for the hashes done in this interval at this mode's nominal speed.
        atTarget += ((samples[j]!.hashes[u]! - a.hashes[u]!) / nominalHps / 60) * TARGET_SPM;
      }
    }
    expect(minutes).toBeGreaterThan(0.5);
    const perTarget = shares / atTarget;
    expect(perTarget).toBeGreaterThan(0.6);
    expect(perTarget).toBeLessThan(1.6);
    expect(modeChanges).toBeGreaterThan(0);
  });

  it('balances the share books at the end (issue 7), the pool agreeing', () => {
    expect(settled).toBe(true);
    expectBalanced(site.proxy.snapshot(), { pools: [pool] });
    expect(pool.stats.rejected).toEqual({});
    for (const m of miners.miners) {
      expect(m.stats.rejected).toEqual({});
      expect(m.stats.unexpectedReplies).toBe(0);
    }
  });
});
