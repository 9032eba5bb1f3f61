import type { MinerConfig, ModelConfig } from '../../src/config/schema.js';
import { BUILTIN_MODELS } from '../../src/config/models.js';
import { createFleetState, type FleetState, type InitialUnitState } from '../../src/scheduler/fleet-state.js';
import type { PolicySettings } from '../../src/scheduler/policy.js';

/** Shared builders for the scheduler tests (not a test file itself). */

export const MODELS: Record<string, ModelConfig> = {
  ...BUILTIN_MODELS,
  // An older, less efficient unit (S19-class figures), two modes.
  old: { standbyKw: 0.1, modes: [{ name: 'low', kw: 2.8, ths: 80 }, { name: 'normal', kw: 3.25, ths: 95 }], rampUpS: 20, softoffDelayS: 5, nominal: true },
};

export const SETTINGS: PolicySettings = { minOnS: 0, minOffS: 0, rampKwPerMin: 1e9, hysteresisKw: 0, cutDeadlineS: 10, tickS: 5 };

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
