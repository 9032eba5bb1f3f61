import type { FleetState } from './fleet-state.js';
import type { Plan } from './policy.js';
import type { Decision } from './scheduler-core.js';

/**
 * Plan -> ordered unit commands with issue times, pure. Shared by the live
 * loop and `surplus simulate`, so the simulator exercises the same ordering
 * and staggering as the site.
 *
 * Decreases go first, all at once (issue 12 item 3): a cut is a safety
 * action, each goes to its own device (a softoff names its own future
 * second, so bursts are harmless to the fleet), and staggering them only
 * delayed the last one towards the deadline. Only increases are staggered
 * (`commandStaggerMs`): they wait until the decreases have taken effect
 * (softoff lead), so the fleet never draws more than the old or new plan
 * during the change (softoff lead plus up to a second: the Avalon takes
 * whole-second times), and then go out one by one so the draw steps up.
 */

export type CommandAction = 'off' | 'on' | 'mode';

export interface UnitCommand {
  /** Index into `fleet.units` / `plan.targets`. */
  index: number;
  unitId: string;
  worker: string;
  action: CommandAction;
  /** Target mode (index into the unit's sorted modes). */
  mode: number;
  /** Mode the unit had before (a softon must set the mode first when they differ). */
  fromMode: number;
  /** `stratum`: withhold (off) / release (on) instead of the device API. */
  via: 'api' | 'stratum';
  /** When to issue it, ms on the clock. */
  atMs: number;
  /** Part of a budget cut (must be issued by `plan.deadlineMs`). */
  decrease: boolean;
  /** Planned hashrate after the command, TH/s (for `expectHashrate`). */
  ths: number;
  reason: string;
  /** The plan decisions this command realises (settled when it is issued, superseded or fails). */
  decisions?: Decision[];
}

export interface DispatchSettings {
  commandStaggerMs: number;
  cutDeadlineS: number;
}

/** Commands that realise `plan`, given the fleet state *before* it is committed. */
export function buildCommands(plan: Plan, fleet: FleetState, settings: DispatchSettings): UnitCommand[] {
  const dec: Array<{ cmd: UnitCommand; savedKw: number; leadMs: number }> = [];
  const inc: UnitCommand[] = [];
  // An indexed loop: it runs over every unit of every plan that changes something.
  const targets = plan.targets;
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i]!;
    if (!t.changed) continue;
    const u = fleet.units[i]!;
    const via = u.lever === 'api' && u.available ? 'api' : 'stratum';
    const action: CommandAction = t.on === u.on ? 'mode' : t.on ? 'on' : 'off';
    const oldKw = u.on ? u.modes[u.mode]!.kw : u.standbyKw;
    const newKw = t.on ? u.modes[t.mode]!.kw : u.standbyKw;
    const cmd: UnitCommand = { index: i, unitId: u.id, worker: u.worker, action, mode: t.mode, fromMode: u.mode, via, atMs: plan.atMs, decrease: newKw < oldKw, ths: t.ths, reason: t.reason };
    if (cmd.decrease) dec.push({ cmd, savedKw: oldKw - newKw, leadMs: via === 'api' ? u.softoffDelayS * 1000 + 1000 : 0 });
    else inc.push(cmd);
  }
  // Biggest saving first: the order the loop hands them to the devices in the same instant.
  dec.sort((a, b) => b.savedKw - a.savedKw || a.cmd.index - b.cmd.index);
  const out: UnitCommand[] = [];
  let t = plan.atMs;
  let freedAtMs = plan.atMs;
  for (const d of dec) {
    d.cmd.atMs = plan.atMs;
    freedAtMs = Math.max(freedAtMs, d.cmd.atMs + d.leadMs);
    out.push(d.cmd);
  }
  if (dec.length > 0) t = freedAtMs + settings.commandStaggerMs;
  inc.sort((a, b) => a.index - b.index);
  inc.forEach((c, k) => {
    c.atMs = t + k * settings.commandStaggerMs;
    out.push(c);
  });
  return out;
}

/**
 * The command that replaces `stale` (planned, never issued) with `next`, and
 * whether it still carries `stale`'s effect. `next` was built against the
 * fleet state `stale` committed, which the device never reached: when `stale`
 * was a softon and `next` only changes the mode, issuing `next` alone would
 * leave the unit off while the plan counts it on (a lost softon, seen in the
 * demo as more "on" decisions than softon commands), so the softon is kept,
 * in the new mode, and no earlier than it was due. Otherwise `stale` is
 * superseded: its decisions are settled as such by the caller.
 */
export function supersedeCommand(stale: UnitCommand, next: UnitCommand): { command: UnitCommand; carried: boolean } {
  if (stale.action === 'on' && next.action === 'mode') {
    // Not before the softon's own time: it waited for the softoffs of its plan to take effect.
    const atMs = Math.max(stale.atMs, next.atMs);
    return { command: { ...next, action: 'on', fromMode: stale.fromMode, atMs, decisions: [...(stale.decisions ?? []), ...(next.decisions ?? [])] }, carried: true };
  }
  // The device never saw `stale`: it still has stale.fromMode selected, so a softon must select
  // next.mode from there (and a unit left off keeps stale.fromMode, see the callers).
  return { command: { ...next, fromMode: stale.fromMode }, carried: false };
}
