// PoR as the session's liveness (src/uzp/session/liveness.ts, failover.ts; draft §12, §11.2) in real
// sessions over an in-memory stitch that names an RN, on a fake clock: PoR runs both ways on
// channel 0, a blackholed path becomes a failover trigger after exactly the timeout, and the idle
// cost per direction is what docs/PROFILE.md §Proof-of-Reachability states (352 B per PoR cycle).

import { describe, expect, it } from 'vitest';
import { DEFAULT_POR_INTERVAL_MS, DEFAULT_POR_TIMEOUT_MS } from '../../../src/uzp/session/liveness.js';
import { DEFAULT_CONTINUITY_WINDOW_MS } from '../../../src/uzp/session/failover.js';
import { continuityPair, type ContinuityPair } from '../../helpers/continuity-pair.js';
import { turns } from '../../helpers/fake-clock.js';

const POR = { intervalMs: DEFAULT_POR_INTERVAL_MS, timeoutMs: DEFAULT_POR_TIMEOUT_MS };

/** Lets `ms` of fake time pass 1 ms at a time, with the event loop turning in between. */
async function run(p: ContinuityPair, ms: number): Promise<void> {
  for (let i = 0; i < ms; i++) {
    await turns(3);
    p.clock.tick(1);
  }
}

describe('PoR liveness in a session', () => {
  it('defaults: a challenge every 1 s, a failover trigger after 2.5 s without proof, a 30 s continuity window', () => {
    expect([DEFAULT_POR_INTERVAL_MS, DEFAULT_POR_TIMEOUT_MS, DEFAULT_CONTINUITY_WINDOW_MS]).toEqual([1_000, 2_500, 30_000]);
  });

  it('runs both ways over channel 0 and every proof is accepted; no application channel appears', async () => {
    const p = continuityPair({ continuity: { por: POR } });
    const channels: unknown[] = [];
    p.gateway.on('channel', (c) => channels.push(c));
    p.operator.on('channel', (c) => channels.push(c));
    await run(p, 5_200);
    for (const s of [p.operator, p.gateway]) {
      const st = s.failover!.liveness!.stats;
      expect(st.accepted).toBeGreaterThanOrEqual(5);
      expect(st.refused).toBe(0);
    }
    expect(channels).toEqual([]);
    expect([p.operator.state, p.gateway.state]).toEqual(['stitched', 'stitched']);
  });

  it('a session closing or closed sends no more challenges (a PoR timer firing then must not throw)', async () => {
    let drop = false;
    const p = continuityPair({ continuity: { por: POR }, hook: (b) => (drop ? [] : [b]) });
    await run(p, 500);
    drop = true; // the peer never acknowledges the CLOSE: the session stays closing for up to 5 s
    p.operator.close();
    await run(p, 3 * DEFAULT_POR_INTERVAL_MS); // PoR timers fire meanwhile: they must not send into the closing engine
    expect(p.operator.failover!.liveness!.stats.challenges).toBeLessThanOrEqual(2);
  });

  it('a blackholed path (the RN drops everything, stitch still up) is a failover trigger after exactly the timeout', async () => {
    let drop = false;
    const p = continuityPair({ continuity: { por: POR }, hook: (b) => (drop ? [] : [b]) });
    await run(p, 1_500);
    drop = true;
    const failover: number[] = [];
    p.operator.on('failover', () => failover.push(p.d.clock()));
    // the operator's next challenge goes out ~1 s after its last accepted proof; it dies 2.5 s later
    await run(p, 3_400);
    expect(p.operator.state).toBe('failover');
    const last = p.operator.failover!.liveness!.stats.lastAcceptedAt!;
    // challenge issued intervalMs after the last acceptance, dead timeoutMs after that
    expect(failover).toHaveLength(1);
    expect(failover[0]! - last).toBe(DEFAULT_POR_INTERVAL_MS + DEFAULT_POR_TIMEOUT_MS);
    expect(() => p.operator.openChannel()).toThrow(expect.objectContaining({ code: 'SESSION_FROZEN' }));
  });

  it('idle cost per direction and PoR cycle: one challenge block (105 B), one response block (137 B), two ack blocks (55 B) = 352 B', async () => {
    const sent: Record<'a' | 'b', number[]> = { a: [], b: [] };
    let on = false;
    const p = continuityPair({
      continuity: { por: POR },
      hook: (b, from) => {
        if (on) sent[from].push(b.length);
        return [b];
      },
    });
    // the two sides' PoR cycles out of phase, as between real endpoints (in phase, acks coalesce)
    await run(p, 300);
    p.gateway.failover!.liveness!.start(p.rns[0].cid, 0);
    await run(p, 2_000);
    on = true;
    await run(p, 10_000);
    for (const side of ['a', 'b'] as const) {
      // cut the stream at each challenge block (105 B): every full cycle is the same four blocks
      const cycles: number[][] = [];
      for (const n of sent[side]) {
        if (n === 105) cycles.push([]);
        cycles.at(-1)?.push(n);
      }
      const full = cycles.slice(0, -1);
      expect(full.length).toBeGreaterThanOrEqual(8);
      for (const c of full) {
        expect([...c].sort((x, y) => x - y)).toEqual([55, 55, 105, 137]);
        expect(c.reduce((x, y) => x + y, 0)).toBe(352);
      }
    }
  });
});
