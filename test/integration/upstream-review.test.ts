/**
 * Defects found reviewing the pool side, each shown over real loopback
 * sockets against the scripted pool before it was fixed. The manager runs on
 * a ManualClock (its timeouts, backoff and fallback pass as site time); the
 * scripted pools answer in real time.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { silentLogger } from '../../src/observability/logger.js';
import { fakeTime, type FakeTime } from '../support/manual-time.js';
import type { ChannelMember, MinerJob, Slot } from '../../src/upstream/channel.js';
import { UpstreamManager } from '../../src/upstream/upstream-manager.js';
import { answerLikeCkpool, startTestManager, ScriptedPool, type PoolConn, type PoolRequest, type Script } from '../support/scripted-pool.js';

let time: FakeTime;
const waitFor = (cond: () => boolean, limitMs?: number, what?: string): Promise<void> => time.waitFor(cond, limitMs, what);
beforeEach(() => {
  time = fakeTime(new ManualClock(Date.now()));
});
let cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

async function pool(script: Script): Promise<ScriptedPool> {
  const p = await ScriptedPool.start(script);
  cleanup.push(() => p.stop());
  return p;
}

function manager(pools: Array<Record<string, unknown>>, upstream: Record<string, unknown> = {}): UpstreamManager {
  const m = startTestManager(pools, upstream, silentLogger(), time.clock);
  cleanup.push(() => m.close());
  return m;
}

/** A miner as the manager sees it: where its slot is, and whether it is orphaned. */
interface TestMember extends ChannelMember {
  slot: Slot | undefined;
  orphaned: boolean;
  moves: number;
}

function member(): TestMember {
  const m: TestMember = {
    slot: undefined,
    orphaned: false,
    moves: 0,
    moveTo: (s: Slot) => void ((m.slot = s), (m.orphaned = false), m.moves++),
    orphan: () => void (m.orphaned = true),
    deliverJob: (_j: MinerJob) => undefined,
    upstreamChanged: () => undefined,
  };
  return m;
}

describe('BIP310 configure memory', () => {
  it('a pool that answers nothing at all (hung, restarting) is still asked mining.configure on the next connection', async () => {
    // First connection: the pool accepts TCP and answers nothing (configure times
    // out, but so does subscribe); later connections answer like ckpool. The
    // configure timeout there says nothing about configure, so version rolling
    // must not be switched off for 30 minutes.
    const p = await pool((req, conn) => {
      if (conn.index === 0) return;
      answerLikeCkpool(req, conn);
    });
    const m = manager([{ url: p.url, user: 'farm' }], { handshakeTimeoutS: 1.5, backoffInitialMs: 50, backoffMaxMs: 200 });
    await waitFor(() => m.channelsOpen() === 1, 10_000, 'channel up on the second connection');
    expect(p.conns[0]!.has('mining.configure')).toBe(true);
    expect(p.conns[0]!.has('mining.subscribe')).toBe(true);
    expect(p.conns.at(-1)!.has('mining.configure')).toBe(true);
    expect(m.versionMask()).toBe(0x1fffe000);
  });
});

describe('client.reconnect sent to every connection at once', () => {
  it('is one request, not a loop: miners on several connections all come back without the loop backoff', async () => {
    let broadcast = false;
    const p = await pool((req, conn) => answerLikeCkpool(req, conn));
    // One miner per connection, so four connections; a loop backoff would hold
    // the pool for 0.75-1.5 x 4 s.
    const m = manager([{ url: p.url, user: 'farm' }], { maxMinersPerConnection: 1, backoffInitialMs: 4000, backoffMaxMs: 20_000 });
    const members = [member(), member(), member(), member()];
    const slots = await Promise.all(members.map((mb) => m.acquire(mb)));
    slots.forEach((s, i) => (members[i]!.slot = s.slot));
    expect(m.channelsOpen()).toBe(4);
    const before = p.conns.length;
    // A pool restart (ckpool, Braiins): client.reconnect to every client, in one tick.
    for (const c of p.conns) if (!c.closed) c.send({ id: null, method: 'client.reconnect', params: [] });
    broadcast = true;
    await waitFor(() => broadcast && members.every((mb) => mb.moves === 1 && !mb.orphaned), 2500, 'every miner on a new connection');
    expect(p.conns.length - before).toBe(4);
    expect(m.status()[0]).toMatchObject({ reconnectRequests: 4, failovers: 0, state: 'up' });
  });

  it('a pool that asks again on every new connection still gets the backoff', async () => {
    const at: number[] = [];
    const p = await pool((req, conn) => {
      answerLikeCkpool(req, conn);
      if (req.method === 'mining.authorize') {
        at.push(time.clock.now());
        setTimeout(() => conn.send({ id: null, method: 'client.reconnect', params: [] }), 5);
      }
    });
    const m = manager([{ url: p.url, user: 'farm' }], { backoffInitialMs: 400, backoffMaxMs: 2000 });
    await waitFor(() => at.length >= 4, 10_000, 'four connections');
    // Two asks in a minute are followed at once; the third waits the first backoff step (0.75 x 400 ms).
    expect(at[3]! - at[2]!).toBeGreaterThanOrEqual(280);
    expect(m.activeIndex).toBe(0);
  });
});

describe('shares in flight when miners move to another pool', () => {
  it('the old connection stays open until the pool answers the shares sent on it (fallback)', async () => {
    let primaryUp = false;
    const primary = await pool((req, conn) => answerLikeCkpool(req, conn));
    primary.onConnect = (c) => void (!primaryUp && c.socket.destroy());
    const held: Array<{ req: PoolRequest; conn: PoolConn }> = [];
    const backup = await pool((req, conn) => (req.method === 'mining.submit' ? void held.push({ req, conn }) : answerLikeCkpool(req, conn)));
    const m = manager([{ url: primary.url, user: 'farm' }, { url: backup.url, user: 'farm' }], { fallbackStableS: 0.3, backoffInitialMs: 100, backoffMaxMs: 200 });
    const mb = member();
    const { slot } = await m.acquire(mb);
    mb.slot = slot;
    expect(m.activeIndex).toBe(1);
    // A share the miner found on the backup, sent upstream; the backup answers it late.
    const answer = slot.channel.submit({ channel: slot.channel, upstreamJobId: 'j1', poolDifficulty: 1 }, slot.prefixHex, '00000000', '5f5e1000', '00000001');
    await waitFor(() => held.length === 1, 10_000, 'the share at the backup');
    expect(m.pendingRequests()).toBe(1);
    primaryUp = true;
    await waitFor(() => m.activeIndex === 0 && mb.moves === 1, 10_000, 'miner moved back to the primary');
    // Moved, but the share is still waiting for the backup's verdict, and counted as pending.
    expect(m.pendingRequests()).toBe(1);
    const { req, conn } = held[0]!;
    conn.send({ id: req.id, result: true, error: null });
    await expect(answer).resolves.toMatchObject({ accepted: true });
    // Then the connection the miner left is closed (nothing left on it).
    await waitFor(() => backup.conns[0]!.closed, 10_000, 'the backup connection closed');
    expect(m.pendingRequests()).toBe(0);
  });
});

describe('the fallback probe when failover wraps round to the probed pool', () => {
  it('is dropped, so it neither stays open beside the active connections nor marks the active pool down when it closes', async () => {
    let primaryUp = false;
    let backupUp = true;
    const primary = await pool((req, conn) => answerLikeCkpool(req, conn));
    primary.onConnect = (c) => void (!primaryUp && c.socket.destroy());
    const backup = await pool((req, conn) => answerLikeCkpool(req, conn));
    backup.onConnect = (c) => void (!backupUp && c.socket.destroy());
    const m = manager([{ url: primary.url, user: 'farm' }, { url: backup.url, user: 'farm' }], { fallbackStableS: 60, backoffInitialMs: 100, backoffMaxMs: 200 });
    await waitFor(() => m.activeIndex === 1 && m.channelsOpen() === 1, 10_000, 'on the backup');
    primaryUp = true;
    // The primary is back: probed, and it has to stay up 60 s before the fallback.
    await waitFor(() => m.status()[0]!.connections === 1, 10_000, 'probe up');
    const probeConn = primary.conns.find((c) => !c.closed)!;
    // The backup dies first: failover wraps round to the primary.
    backupUp = false;
    for (const c of backup.conns) c.socket.destroy();
    await waitFor(() => m.activeIndex === 0 && m.channelsOpen() >= 1, 10_000, 'failed over to the primary');
    await waitFor(() => m.status()[0]!.connections === m.channelsOpen(), 3000, 'no probe beside the active connections');
    await waitFor(() => probeConn.closed, 3000, 'probe connection closed');
    // Had the probe stayed, its close would count as a failed probe: pool 0 'down' and backed off while active.
    await new Promise((r) => setTimeout(r, 200));
    expect(m.status()[0]).toMatchObject({ state: 'up', active: true });
  });
});
