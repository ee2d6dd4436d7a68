// A stitch that asks the session to wait for its drain and never drains (an RN that stopped reading
// the link): the session waits on one timer, not a 0 ms timer re-armed at every turn, and gives the
// path up (LINK_TIMEOUT) once it has waited as long as the engine would try one block.

import { describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../../src/lib/clock.js';
import { sessionPair } from '../../helpers/session-pair.js';

function countingClock(): Clock & { timers: number } {
  const c = {
    timers: 0,
    now: () => systemClock.now(),
    setTimeout: (fn: () => void, ms: number, o?: { readonly unref?: boolean }) => {
      c.timers++;
      return systemClock.setTimeout(fn, ms, o);
    },
  };
  return c;
}

describe('a stitch that never drains', () => {
  it('costs one timer, not a spin, and ends the session with LINK_TIMEOUT after the stall bound', async () => {
    const clock = countingClock();
    // Stall bound: maxRtoMs x maxRetransmits = 1,200 ms.
    const p = sessionPair({ clock, limits: { minRtoMs: 100, initialRtoMs: 100, maxRtoMs: 400, maxRetransmits: 3 } });
    const stitch = p.stitches.operator;
    const send = stitch.send.bind(stitch);
    stitch.send = (payload: Uint8Array) => (send(payload), false); // taken, then "wait for my drain", forever
    const closed = new Promise<Error | undefined>((r) => p.operator.once('close', r));
    const t0 = Date.now();
    void p.operator.openChannel().trySend(new Uint8Array(100).fill(1));
    await new Promise((r) => setTimeout(r, 600));
    // Before: ~1 timer per millisecond (the due RTO re-armed at 0 ms while blocked), and no end.
    expect(clock.timers).toBeLessThan(20);
    const err = await closed;
    expect(err).toMatchObject({ code: 'LINK_TIMEOUT' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_100);
    p.gateway.close();
  }, 10_000);
});
