// The RN link's keepalive (src/uzp/link/keepalive.ts) on a manual clock: one PING per interval
// however often it is started (a re-attach starts it again), a probe at a time, and nothing left
// running after stop(); and liveness by whole frames: a frame still arriving keeps the link only while
// it grows at LINK_MIN_BYTES_PER_S or faster.

import { describe, expect, it } from 'vitest';
import { LINK_MIN_BYTES_PER_S } from '../../../src/uzp/link/constants.js';
import { LinkKeepalive } from '../../../src/uzp/link/keepalive.js';
import { FakeClock } from '../../helpers/fake-clock.js';

function rig() {
  const clock = new FakeClock(0);
  let last = 0;
  let partial = 0;
  const pings: number[] = [];
  const dead: string[] = [];
  const k = new LinkKeepalive({ clock, lastFrameAt: () => last, partial: () => partial, ping: (n) => pings.push(n), dead: (why) => dead.push(why) });
  return { clock, k, pings, dead, heard: () => (last = clock.now()), grow: (n: number) => (partial += n) };
}

describe('LinkKeepalive', () => {
  it('started again: still one PING per interval (the earlier tick is replaced, not kept beside it)', () => {
    const r = rig();
    r.k.start(1_000, 10_000);
    r.k.start(1_000, 10_000);
    r.heard();
    r.clock.advance(1_000);
    expect(r.pings).toHaveLength(1);
    r.clock.advance(1_000);
    expect(r.pings).toHaveLength(2);
    r.k.stop();
    expect(r.clock.pending).toBe(0);
  });

  it('a probe at a time: answered ones leave no timer behind, an unanswered one declares the link dead', () => {
    const r = rig();
    r.k.start(3_600_000, 7_200_000); // no tick within the loop: every PING is a probe's
    for (let i = 0; i < 1_000; i++) {
      r.k.probe(500);
      r.k.probe(500); // while one runs: no second PING, no second timer
      r.clock.advance(10);
      r.heard();
      r.clock.advance(490);
    }
    expect(r.pings).toHaveLength(1_000);
    expect(r.dead).toEqual([]);
    expect(r.clock.pending).toBe(1); // the keepalive tick only
    r.k.probe(500);
    r.clock.advance(500);
    expect(r.dead).toEqual(['no answer to a probe within 500 ms']);
    r.k.stop();
    expect(r.clock.pending).toBe(0);
  });

  it('stop() during a probe: nothing fires afterwards', () => {
    const r = rig();
    r.k.start(1_000, 5_000);
    r.k.probe(500);
    r.k.stop();
    r.clock.advance(10_000);
    expect(r.dead).toEqual([]);
    expect(r.pings).toHaveLength(1);
    expect(r.clock.pending).toBe(0);
  });

  it('a frame arriving at LINK_MIN_BYTES_PER_S keeps the link past the idle timeout; a slower one does not', () => {
    const r = rig();
    r.k.start(10_000, 30_000);
    for (let t = 0; t < 120; t++) {
      r.clock.advance(1_000);
      r.grow(LINK_MIN_BYTES_PER_S); // one large frame, still arriving after two minutes
    }
    expect(r.dead).toEqual([]);
    for (let t = 0; t < 10; t++) {
      r.clock.advance(1_000);
      r.grow(LINK_MIN_BYTES_PER_S - 1); // just under the rate over the last interval
    }
    expect(r.dead).toEqual(['no frame for 30000 ms']);
    r.k.stop();
  });

  it('a probe is answered by a frame, or by a frame in flight growing at LINK_MIN_BYTES_PER_S; not by a byte', () => {
    const r = rig();
    r.k.start(3_600_000, 7_200_000);
    r.k.probe(1_000);
    r.clock.advance(500);
    r.grow(LINK_MIN_BYTES_PER_S);
    r.clock.advance(500);
    expect(r.dead).toEqual([]);
    r.k.probe(1_000);
    r.clock.advance(500);
    r.grow(1); // a byte now and then: no sign of life
    r.clock.advance(500);
    expect(r.dead).toEqual(['no answer to a probe within 1000 ms']);
    r.k.stop();
  });
});
