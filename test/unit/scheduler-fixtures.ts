import { schedulerSchema, type MinerConfig, type ModelConfig } from '../../src/config/schema.js';
import { BUILTIN_MODELS } from '../../src/config/models.js';
import { createFleetState, type FleetState, type InitialUnitState } from '../../src/scheduler/fleet-state.js';
import type { PolicySettings } from '../../src/scheduler/policy.js';
import { SchedulerCore } from '../../src/scheduler/scheduler-core.js';

/** Shared builders for the scheduler tests (not a test file itself). */

export const MODELS: Record<string, ModelConfig> = {
  ...BUILTIN_MODELS,
  // An older, less efficient unit (S19-class figures), two modes.
  old: { standbyKw: 0.1, modes: [{ name: 'low', kw: 2.8, ths: 80 }, { name: 'normal', kw: 3.25, ths: 95 }], rampUpS: 20, softoffDelayS: 5, nominal: true },
};

export const SETTINGS: PolicySettings = { minOnS: 0, minOffS: 0, rampKwPerMin: 1e9, hysteresisKw: 0, cutDeadlineS: 10, tickS: 5 };

/**
 * The core the issue-12 property walks drive: a wear budget of 6, the given `onHoldS`, and
 * nothing else in the way (no minimum on/off times, hysteresis, rebalance, stagger or ramp limit).
 */
export function walkCore(fleet: FleetState, onHoldS: number): SchedulerCore {
  const settings = schedulerSchema.parse({ minOnS: 0, minOffS: 0, hysteresisKw: 0, onHoldS, maxCyclesPerDay: 6, swapIntervalS: 1e9, commandStaggerMs: 0, rampKwPerMin: 1e9 });
  return new SchedulerCore(fleet, settings, { holdLastS: 0, failsafeKw: 0 });
}

/**
 * The random budget walk of those tests: from `start` of the fleet's top draw (`n` A1566HA at
 * 8.1 kW), each step `dtS` later and `dFrac` of it higher or lower, clamped to 0..1.2.
 */
export function* walkBudget<S extends { dtS: number; dFrac: number }>(walk: readonly S[], start: number, n: number, t0: number): Generator<{ step: S; now: number; kw: number }> {
  let now = t0;
  let frac = start;
  for (const step of walk) {
    now += step.dtS * 1000;
    frac = Math.min(1.2, Math.max(0, frac + step.dFrac));
    yield { step, now, kw: frac * n * 8.1 };
  }
}

export interface UnitSpec {
  model?: string;
  api?: boolean;
  on?: boolean;
  mode?: number;
  priority?: number;
}

export function miner(i: number, spec: UnitSpec = {}): MinerConfig {
  return {
    id: `u${i}`,
    worker: `site.u${i}`,
    model: spec.model ?? 'avalon-a1566ha',
    priority: spec.priority ?? 0,
    ...(spec.api === false ? {} : { api: `10.0.0.${i % 250}:4028` }),
  };
}

export function fleetOf(specs: UnitSpec[], models: Record<string, ModelConfig> = MODELS): FleetState {
  const miners = specs.map((s, i) => miner(i, s));
  return createFleetState({ models, miners }, (m): InitialUnitState => {
    const s = specs[Number(m.id.slice(1))]!;
    return s.mode === undefined ? { on: s.on ?? true } : { on: s.on ?? true, mode: s.mode };
  });
}

export const sumKw = (xs: Array<{ kw: number }>): number => xs.reduce((a, b) => a + b.kw, 0);
