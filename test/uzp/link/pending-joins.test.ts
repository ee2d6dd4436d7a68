// The JOINs an RN link waits on (src/uzp/link/pending-joins.ts): each settles exactly once, by the
// RN's answer, its timeout, its caller's abort or the link's end, and leaves no timer behind.

import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/uzp/errors.js';
import { PendingJoins } from '../../../src/uzp/link/pending-joins.js';
import type { Stitch } from '../../../src/uzp/link/stitch.js';
import { StateError } from '../../../src/lib/errors.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const stitch = { id: 7 } as Stitch;

describe('PendingJoins', () => {
  it('gives each join its own id and resolves it once with the stitch JOINED names', async () => {
    const clock = new FakeClock();
    const joins = new PendingJoins(clock, 1000);
    const a = joins.open();
    const b = joins.open();
    expect(b.id).toBe(a.id + 1);
    expect(joins.resolve(a.id, () => stitch)).toBe(true);
    await expect(a.stitch).resolves.toBe(stitch);
    expect(joins.has(a.id)).toBe(false);
    expect(joins.resolve(a.id, () => stitch)).toBe(false); // answered already
    expect(joins.has(b.id)).toBe(true);
    expect(clock.pending).toBe(1); // b's timeout only
  });

  it('times out with LINK_TIMEOUT; a JOINED after that finds nobody waiting', async () => {
    const clock = new FakeClock();
    const joins = new PendingJoins(clock, 1000);
    const j = joins.open();
    clock.advance(999);
    expect(joins.has(j.id)).toBe(true);
    clock.advance(1);
    await expect(j.stitch).rejects.toMatchObject({ code: ErrorCode.LINK_TIMEOUT });
    let made = false;
    expect(joins.resolve(j.id, () => ((made = true), stitch))).toBe(false);
    expect(made).toBe(false);
  });

  it("rejects with LINK_CLOSED when the caller aborts, and the answer's timer no longer fires", async () => {
    const clock = new FakeClock();
    const joins = new PendingJoins(clock, 1000);
    const ac = new AbortController();
    const j = joins.open(ac.signal);
    ac.abort(new Error('operator gave up'));
    await expect(j.stitch).rejects.toMatchObject({ code: ErrorCode.LINK_CLOSED });
    expect(joins.has(j.id)).toBe(false);
    expect(clock.pending).toBe(0); // its timeout was cancelled
  });

  it('JOIN_REFUSED and the link end reject with their error and stop the timers', async () => {
    const clock = new FakeClock();
    const joins = new PendingJoins(clock, 1000);
    const refused = joins.open();
    const a = joins.open();
    const b = joins.open();
    const refusal = new StateError(ErrorCode.JOIN_REFUSED, 'refused');
    joins.reject(refused.id, refusal);
    await expect(refused.stitch).rejects.toBe(refusal);
    const end = new StateError(ErrorCode.LINK_CLOSED, 'RN link: closed locally');
    joins.rejectAll(end);
    await expect(a.stitch).rejects.toBe(end);
    await expect(b.stitch).rejects.toBe(end);
    expect([refused.id, a.id, b.id].some((id) => joins.has(id))).toBe(false);
    expect(clock.pending).toBe(0);
  });
});
