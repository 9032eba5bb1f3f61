import { EventEmitter } from 'node:events';
import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { PenaltyGate } from '../../src/operator/penalty-gate.js';

class Client extends EventEmitter {
  destroyed = false;
  leave(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

describe('PenaltyGate', () => {
  let clock = new ManualClock(0);
  beforeEach(() => void (clock = new ManualClock(0)));
  /** Moves the clock, then lets the resolved turns' callbacks run. */
  const advance = async (ms: number): Promise<void> => {
    clock.advance(ms);
    await new Promise((r) => setImmediate(r));
  };

  const track = (p: Promise<boolean>) => {
    const r: { v?: boolean } = {};
    void p.then((v) => (r.v = v));
    return r;
  };

  it('gives turns in arrival order, concurrency at a time, each after holdMs', async () => {
    const gate = new PenaltyGate(2, 1000, clock);
    const rs = [0, 1, 2, 3, 4].map(() => track(gate.wait(new Client())));
    await advance(999);
    expect(rs.map((r) => r.v)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    await advance(1);
    expect(rs.map((r) => r.v)).toEqual([true, true, undefined, undefined, undefined]);
    await advance(1000);
    expect(rs.map((r) => r.v)).toEqual([true, true, true, true, undefined]);
    await advance(1000);
    expect(rs[4]!.v).toBe(true);
  });

  it('drops a client that leaves while queued, but one that leaves during its hold keeps the slot', async () => {
    const gate = new PenaltyGate(1, 1000, clock);
    const a = new Client();
    const b = new Client();
    const ra = track(gate.wait(a));
    const rb = track(gate.wait(b));
    const rc = track(gate.wait(new Client()));
    expect(gate.waiting).toBe(2);
    b.leave();
    await advance(0);
    expect(rb.v).toBe(false);
    expect(gate.waiting).toBe(1);
    a.leave(); // in its hold: closing early frees nothing
    await advance(999);
    expect(ra.v).toBeUndefined();
    expect(rc.v).toBeUndefined();
    await advance(1);
    expect(ra.v).toBe(false);
    await advance(1000);
    expect(rc.v).toBe(true);
  });

  it('answers false to everyone on close and to newcomers after it', async () => {
    const gate = new PenaltyGate(1, 1000, clock);
    const r1 = track(gate.wait(new Client()));
    const r2 = track(gate.wait(new Client()));
    gate.close();
    await advance(0);
    expect(r2.v).toBe(false);
    expect(await gate.wait(new Client())).toBe(false);
    expect(clock.pending()).toBe(0);
    expect(r1.v).toBeUndefined(); // its hold was cancelled with the server; its connection goes with it
  });
});
