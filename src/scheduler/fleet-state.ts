import type { FleetConfig, MinerConfig, ModelConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { UnitStates } from './unit-states.js';

/**
 * What the scheduler knows about each unit. The policy reads it (values in,
 * values out); the loop is the only writer. Times are milliseconds on the
 * injected clock.
 */

/** One work mode with its position in the model config (the device speaks config indices). */
export interface UnitMode {
  readonly name: string;
  readonly kw: number;
  readonly ths: number;
  readonly workmode: number | undefined;
  /** Index into the model's `modes` as configured (what `DevicePowerModel.setMode` takes). */
  readonly configIndex: number;
  /** J/TH = kW / (TH/s) * 1000; lower is better. */
  readonly jPerTh: number;
}

/** The number the device's workmode command takes for this mode (its `workmode`, else its config index). */
export function workmodeNumber(m: UnitMode): number {
  return m.workmode ?? m.configIndex;
}

/** Index into `u.modes` of the mode a device reports by workmode number; -1 when none (or none reported). */
export function modeIndexOfWorkmode(u: { readonly modes: readonly UnitMode[] }, workmode: number | undefined): number {
  return workmode === undefined ? -1 : u.modes.findIndex((m) => workmodeNumber(m) === workmode);
}

/** How the scheduler can switch this unit. */
export type Lever = 'api' | 'stratum';

/**
 * A unit of the fleet. Those createFleetState builds keep their changing fields (`on` to
 * `onsMs`) in the fleet's typed arrays behind accessors (issue 12 item 10): copy one field by
 * field, not by spread (a spread copies only the fixed fields).
 */
export interface FleetUnit {
  readonly id: string;
  readonly worker: string;
  readonly model: string;
  /** Sorted by efficiency, most efficient (lowest J/TH) first. Plan targets index this array. */
  readonly modes: readonly UnitMode[];
  /** Index lists over `modes` the policy hands out (every mode; each mode alone), built once per model. */
  readonly modeIndexes: ModeIndexes;
  readonly standbyKw: number;
  readonly rampUpS: number;
  readonly softoffDelayS: number;
  /** What a mode change does to a running unit (model `modeChange`); absent: `restart`. */
  readonly modeChange?: 'restart' | 'instant';
  readonly priority: number;
  /** `stratum` units have no device API: off means withheld, on means released (mode not settable). */
  readonly lever: Lever;
  /** The API "host:port" from the fleet config, when there is one. */
  readonly api: string | undefined;
  /** Commanded state (what the loop last asked for). */
  on: boolean;
  /** Index into `modes` (selected mode, also while off). */
  mode: number;
  /** When `on` last changed; -Infinity when unknown (no min on/off constraint applies). */
  sinceMs: number;
  /** When `on` or `mode` last changed (a mode change restarts the ramp too). */
  changedAtMs: number;
  /**
   * When the device itself sees that change, set by the loop: a softon takes effect
   * at a whole second softoffDelayS ahead of its issue, and increases are issued after
   * a cut's softoffs, so the ramp starts later than the plan. Undefined: at `changedAtMs`.
   */
  rampFromMs?: number | undefined;
  /** False while the API fails or the unit does not report: counted at worst-case draw. */
  available: boolean;
  /** Measured wall power, kW, from the last status read; undefined when not reported. */
  measuredKw: number | undefined;
  /** When `measuredKw` was read. */
  measuredAtMs: number;
  /**
   * Times of the plan's switch-ons within the last 24 h, ascending (recordOn keeps the order): the
   * wear budget spent (policy-wear.ts). Replaced, never changed in place: a fleet's units keep a
   * frozen copy (unit-states.ts), so a write in place throws instead of going unseen.
   */
  onsMs?: readonly number[] | undefined;
}

export interface FleetState {
  /** Carries the fleet's `UnitGroups` (unitGroupsOf), built once by createFleetState. */
  readonly units: FleetUnit[];
  readonly byId: ReadonlyMap<string, FleetUnit>;
  readonly byWorker: ReadonlyMap<string, FleetUnit>;
}

/** Modes sorted by J/TH, ties by lower kW (a lower mode fits more budgets). */
export function sortModes(model: ModelConfig): UnitMode[] {
  return model.modes
    .map((m, i) => ({ name: m.name, kw: m.kw, ths: m.ths, workmode: m.workmode, configIndex: i, jPerTh: (m.kw / m.ths) * 1000 }))
    .sort((a, b) => a.jPerTh - b.jPerTh || a.kw - b.kw);
}

/** Every mode's index, and each index alone: what the policy may choose from. */
export interface ModeIndexes {
  readonly all: readonly number[];
  readonly single: readonly (readonly number[])[];
}

/** The index lists of a mode list (shared by every unit of one model, so planning allocates none). */
export function modeIndexesOf(modes: readonly unknown[]): ModeIndexes {
  return { all: modes.map((_, i) => i), single: modes.map((_, i) => [i]) };
}

/** Index (into sorted modes) of the highest-kW mode: what a unit runs when nobody sets its mode. */
export function topModeIndex(modes: readonly UnitMode[]): number {
  let best = 0;
  for (let i = 1; i < modes.length; i++) if (modes[i]!.kw > modes[best]!.kw) best = i;
  return best;
}

export interface InitialUnitState {
  on: boolean;
  /** Index into the *sorted* modes; defaults to the top mode. */
  mode?: number;
}

/**
 * Builds the fleet from the resolved config. Units start in `initial` (by
 * default: on in the top mode, as miners usually are when a proxy starts) with
 * unknown `since`, so no minimum on/off time holds them at start.
 */
export function createFleetState(
  fleet: Pick<FleetConfig, 'models' | 'miners'>,
  initial: (miner: MinerConfig) => InitialUnitState = () => ({ on: true }),
): FleetState {
  const units: FleetUnit[] = [];
  const byId = new Map<string, FleetUnit>();
  const byWorker = new Map<string, FleetUnit>();
  const sortedByModel = new Map<string, { modes: UnitMode[]; modeIndexes: ModeIndexes }>();
  const states = new UnitStates(fleet.miners.length);
  fleet.miners.forEach((m, i) => {
    const model = fleet.models[m.model];
    if (!model) throw new ConfigError(`fleet.miners[${i}].model: unknown model "${m.model}"; allowed: ${Object.keys(fleet.models).join(', ')}`);
    if (byId.has(m.id)) throw new ConfigError(`fleet.miners[${i}].id: duplicate id "${m.id}"`);
    if (byWorker.has(m.worker)) throw new ConfigError(`fleet.miners[${i}].worker: duplicate worker "${m.worker}"`);
    let sorted = sortedByModel.get(m.model);
    if (!sorted) {
      const modes = sortModes(model);
      sorted = { modes, modeIndexes: modeIndexesOf(modes) };
      sortedByModel.set(m.model, sorted);
    }
    const { modes, modeIndexes } = sorted;
    const init = initial(m);
    const lever: Lever = m.api ? 'api' : 'stratum';
    const unit = new StoredUnit(
      {
        id: m.id,
        worker: m.worker,
        model: m.model,
        modes,
        modeIndexes,
        standbyKw: model.standbyKw,
        rampUpS: model.rampUpS,
        softoffDelayS: model.softoffDelayS,
        modeChange: model.modeChange ?? 'restart',
        priority: m.priority,
        lever,
        api: m.api,
      },
      states,
      i,
    );
    unit.on = init.on;
    // A Stratum-only unit cannot be told a mode: it runs whatever it runs, assume the top one.
    unit.mode = lever === 'stratum' ? topModeIndex(modes) : (init.mode ?? topModeIndex(modes));
    unit.onsMs = [];
    units.push(unit);
    byId.set(unit.id, unit);
    byWorker.set(unit.worker, unit);
  });
  // The list is the fleet's for good (frozen: a slot cannot be swapped), so its groups keep the
  // list itself and a walk given it needs no per-unit identity check (issue 12 item 10).
  attachUnitGroups(units, true);
  Object.freeze(units);
  return { units, byId, byWorker };
}

/** What never changes about a unit (its plain fields). */
type UnitFixed = Pick<FleetUnit, 'id' | 'worker' | 'model' | 'modes' | 'modeIndexes' | 'standbyKw' | 'rampUpS' | 'softoffDelayS' | 'modeChange' | 'priority' | 'lever' | 'api'>;

/**
 * A unit of a fleet built by createFleetState: the fixed fields are its own (copied from
 * `UnitFixed`, typed by the interface merged with the class), the changing ones live in the
 * fleet's UnitStates (slot `index`) behind accessors, so every writer updates the arrays the
 * plan reads (issue 12 item 10). Serialises as the plain unit it stands for.
 */
interface StoredUnit extends UnitFixed {}
class StoredUnit implements FleetUnit {
  readonly #s: UnitStates;
  readonly #i: number;

  constructor(f: UnitFixed, states: UnitStates, index: number) {
    // Own and enumerable, in the order createFleetState lists them (toJSON spreads them, and
    // every unit gets the same shape); the state stays private.
    Object.assign(this, f);
    this.#s = states;
    this.#i = index;
  }

  /** The UnitStates `u` keeps its state in, when that is slot `index` of them. */
  static statesAt(u: FleetUnit, index: number): UnitStates | undefined {
    return u instanceof StoredUnit && u.#i === index ? u.#s : undefined;
  }

  get on(): boolean {
    return this.#s.on[this.#i] === 1;
  }
  set on(v: boolean) {
    this.#s.on[this.#i] = v ? 1 : 0;
    this.#s.touch(this.#i);
  }
  get mode(): number {
    return this.#s.mode[this.#i]!;
  }
  set mode(v: number) {
    this.#s.mode[this.#i] = v;
    this.#s.touch(this.#i);
  }
  get sinceMs(): number {
    return this.#s.sinceMs[this.#i]!;
  }
  set sinceMs(v: number) {
    this.#s.sinceMs[this.#i] = v;
    this.#s.touch(this.#i);
  }
  get changedAtMs(): number {
    return this.#s.changedAtMs[this.#i]!;
  }
  set changedAtMs(v: number) {
    this.#s.changedAtMs[this.#i] = v;
    this.#s.touch(this.#i);
  }
  get rampFromMs(): number | undefined {
    return this.#s.hasRampFrom[this.#i] === 1 ? this.#s.rampFromMs[this.#i]! : undefined;
  }
  set rampFromMs(v: number | undefined) {
    this.#s.hasRampFrom[this.#i] = v === undefined ? 0 : 1;
    this.#s.rampFromMs[this.#i] = v ?? 0;
    this.#s.touch(this.#i);
  }
  get available(): boolean {
    return this.#s.available[this.#i] === 1;
  }
  set available(v: boolean) {
    this.#s.available[this.#i] = v ? 1 : 0;
    this.#s.touch(this.#i);
  }
  get measuredKw(): number | undefined {
    return this.#s.hasMeasured[this.#i] === 1 ? this.#s.measuredKw[this.#i]! : undefined;
  }
  set measuredKw(v: number | undefined) {
    this.#s.hasMeasured[this.#i] = v === undefined ? 0 : 1;
    this.#s.measuredKw[this.#i] = v ?? 0;
    this.#s.touch(this.#i);
  }
  get measuredAtMs(): number {
    return this.#s.measuredAtMs[this.#i]!;
  }
  set measuredAtMs(v: number) {
    this.#s.measuredAtMs[this.#i] = v;
    this.#s.touch(this.#i);
  }
  get onsMs(): readonly number[] | undefined {
    return this.#s.ons[this.#i];
  }
  set onsMs(v: readonly number[] | undefined) {
    this.#s.setOns(this.#i, v);
  }

  /** The plain unit, as the object literal it replaced serialised: its fixed fields, then its state. */
  toJSON(): Record<string, unknown> {
    return {
      ...(this as UnitFixed),
      on: this.on,
      mode: this.mode,
      sinceMs: this.sinceMs,
      changedAtMs: this.changedAtMs,
      rampFromMs: this.rampFromMs,
      available: this.available,
      measuredKw: this.measuredKw,
      measuredAtMs: this.measuredAtMs,
      onsMs: this.onsMs,
    };
  }
}

/** What identical units share: everything about a unit that never changes except its names and priority. */
export interface UnitKind {
  readonly modes: readonly UnitMode[];
  readonly modeIndexes: ModeIndexes;
  readonly standbyKw: number;
  readonly rampUpS: number;
  readonly softoffDelayS: number;
  readonly modeChange: 'restart' | 'instant' | undefined;
  readonly lever: Lever;
}

/**
 * The fleet's units grouped by kind (issue 12 item 10: plan over groups of
 * identical units): a unit's kind and priority are read from typed arrays,
 * so a walk over 10,000 units that needs only those (and the plan's own
 * typed arrays) touches none of the unit objects, whose scattered loads were
 * most of a plan's time. Built once with the fleet; only the `readonly`
 * fields of a unit go in, so it stays valid as the loop changes state.
 */
export interface UnitGroups {
  /**
   * The unit objects it was built from (a walk checks `units[i] === groups.units[i]`): a fleet's
   * own frozen list itself (then a walk given that list checks nothing per unit), else a copy.
   */
  readonly units: readonly FleetUnit[];
  /** Per unit, its index into `kinds`. */
  readonly kind: Int32Array;
  readonly kinds: readonly UnitKind[];
  /** Per unit, its priority. */
  readonly priority: Float64Array;
  /**
   * Where the units keep their changing state, when every one of them keeps it in one
   * UnitStates at its own index (a fleet from createFleetState); undefined otherwise. Valid for
   * slot `i` while `units[i] === groups.units[i]` (a unit never moves to another slot).
   */
  readonly states: UnitStates | undefined;
}

/** Where createFleetState keeps a fleet's groups on its `units` array (not enumerable, not data). */
const UNIT_GROUPS = Symbol('unitGroups');

/**
 * Groups `units` by kind and keeps the result on the array (createFleetState does this once).
 * `fixed`: the caller freezes `units` next, so the groups keep the list itself (else a copy).
 */
export function attachUnitGroups(units: FleetUnit[], fixed = false): UnitGroups {
  const kinds: UnitKind[] = [];
  const kind = new Int32Array(units.length);
  const priority = new Float64Array(units.length);
  units.forEach((u, i) => {
    let k = kinds.findIndex(
      (x) => x.modes === u.modes && x.modeIndexes === u.modeIndexes && x.standbyKw === u.standbyKw && x.rampUpS === u.rampUpS && x.softoffDelayS === u.softoffDelayS && x.modeChange === u.modeChange && x.lever === u.lever,
    );
    if (k < 0) k = kinds.push({ modes: u.modes, modeIndexes: u.modeIndexes, standbyKw: u.standbyKw, rampUpS: u.rampUpS, softoffDelayS: u.softoffDelayS, modeChange: u.modeChange, lever: u.lever }) - 1;
    kind[i] = k;
    priority[i] = u.priority;
  });
  const first = units.length > 0 ? StoredUnit.statesAt(units[0]!, 0) : undefined;
  const states = first !== undefined && first.n === units.length && units.every((u, i) => StoredUnit.statesAt(u, i) === first) ? first : undefined;
  const groups: UnitGroups = { units: fixed ? units : units.slice(), kind, kinds, priority, states };
  Object.defineProperty(units, UNIT_GROUPS, { value: groups, configurable: true });
  return groups;
}

/**
 * The groups createFleetState built for `units`, when they still describe it (same length;
 * callers check each unit's identity as they walk); undefined for a hand-built unit list.
 */
export function unitGroupsOf(units: readonly FleetUnit[]): UnitGroups | undefined {
  const g = (units as { [UNIT_GROUPS]?: UnitGroups })[UNIT_GROUPS];
  return g !== undefined && g.units.length === units.length ? g : undefined;
}

/**
 * Unit `i`'s kind: from `groups` while slot `i` still holds the unit they were built from, else
 * the unit itself (it has every field of a kind), so a walk needs no second path.
 */
export function kindAt(groups: UnitGroups | undefined, units: readonly FleetUnit[], i: number): UnitKind | FleetUnit {
  return groups !== undefined && (units === groups.units || units[i] === groups.units[i]) ? groups.kinds[groups.kind[i]!]! : units[i]!;
}

/** Unit `i`'s `sinceMs`, from the fleet's typed arrays while slot `i` still holds the unit they belong to (as kindAt). */
export function sinceAt(groups: UnitGroups | undefined, units: readonly FleetUnit[], i: number): number {
  return groups?.states !== undefined && (units === groups.units || units[i] === groups.units[i]) ? groups.states.sinceMs[i]! : units[i]!.sinceMs;
}

/** Unit `i`'s priority, from the fleet's groups while slot `i` still holds the unit they were built from (as kindAt). */
export function priorityAt(groups: UnitGroups | undefined, units: readonly FleetUnit[], i: number): number {
  return groups !== undefined && (units === groups.units || units[i] === groups.units[i]) ? groups.priority[i]! : units[i]!.priority;
}

/** Worst-case draw of a unit we cannot see: its top mode, or more if it was measured higher. */
export function worstCaseKw(u: FleetUnit): number {
  let kw = u.modes[topModeIndex(u.modes)]!.kw;
  if (u.measuredKw !== undefined && u.measuredKw > kw) kw = u.measuredKw;
  return kw;
}

/**
 * True when the unit's wall-power reading describes its commanded state: on,
 * and past its ramp (a ramping unit reads low and would invite overshoot).
 */
export function measuredIsSteady(u: FleetUnit): boolean {
  return u.on && u.measuredKw !== undefined && u.measuredAtMs >= Math.max(u.changedAtMs, u.rampFromMs ?? -Infinity) + u.rampUpS * 1000;
}

/** Draw the policy counts for the unit as it stands: measured over nominal, worst case when unseen. */
export function currentKw(u: FleetUnit): number {
  if (!u.available) return worstCaseKw(u);
  if (!u.on) return u.standbyKw;
  if (measuredIsSteady(u)) return u.measuredKw!;
  return u.modes[u.mode]!.kw;
}
