// The refusal budget is the operator's, not the session's (src/gateway/hil/operator-budgets.ts),
// through the HIL broker over real session pairs. Before, each session had its own bucket of
// REFUSALS_PER_S: an operator with a valid Grant got 8 times the rate with its 8 sessions at once,
// and a session ended for TOO_MANY_REFUSALS reconnected to a fresh full bucket at once; every
// refusal costs the gateway a decode, a reply and an audit record on its one event loop.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { HilBroker } from '../../../src/gateway/hil/broker.js';
import { OperatorBudgets, SWEEP_EVERY_MS } from '../../../src/gateway/hil/operator-budgets.js';
import { RefusalBudget, REFUSALS_PER_S } from '../../../src/gateway/hil/refusal-budget.js';
import type { Clock } from '../../../src/lib/clock.js';
import { decodeHil, encodeHil, type HilMessage } from '../../../src/hil/messages.js';
import { toHex } from '../../../src/uzp/bytes.js';
import type { Session } from '../../../src/uzp/session/session.js';
import { TestDomain, type Member } from '../../helpers/domain.js';
import { FakeClock, turns } from '../../helpers/fake-clock.js';
import { sessionPair } from '../../helpers/session-pair.js';
import { fakeClockBroker } from './fake-clock-broker.js';

const d = new TestDomain();
const gw = d.member('gateway');

let open: Session[] = [];
afterEach(() => {
  for (const s of open) s.close();
  open = [];
});

interface Served {
  readonly operator: Session;
  readonly gateway: Session;
  /** The session's Grant (hex): its audit lines carry it. */
  readonly grant: string;
  /** Sends `n` junk frames on one channel; resolves with how many were answered once they had their turns. */
  junk(n: number): Promise<number>;
  /** Whether the gateway ended the session (it is closing or closed). */
  ended(): boolean;
}

/** One stitched session of `op`, served by `b` as the gateway's endpoint would. */
function session(b: HilBroker, op: Member): Served {
  const { operator, gateway, grant } = sessionPair({ domain: d, op, gw, purposes: [{ purpose: 'modbus.read' }], slot: 'rs485-1' });
  b.serve(gateway, grant, d.clock);
  open.push(operator);
  const ch = operator.openChannel();
  let answered = 0;
  ch.on('message', () => answered++);
  return {
    operator,
    gateway,
    grant: toHex(grant.objectId),
    async junk(n) {
      const before = answered;
      for (let i = 0; i < n; i++) ch.trySend(Uint8Array.of(0xff));
      await turns();
      return answered - before;
    },
    ended: () => gateway.isClosing || gateway.state === 'closed',
  };
}

const closed = (s: Session): Promise<void> => new Promise((r) => (s.state === 'closed' ? r() : s.once('close', () => r())));

/** The session.end line of the session under `grant`, if any. */
const endOf = (audit: Record<string, unknown>[], grant: string) => audit.find((l) => l.grant === grant && l.action === 'session.end');

/** Opens rs485-1 in modbus mode on a new channel of `s`: the gateway's answer. */
async function openSlot(s: Session): Promise<HilMessage> {
  const ch = s.openChannel();
  const reply = new Promise<HilMessage>((resolve) => ch.once('message', (m: Uint8Array) => resolve(decodeHil(m))));
  ch.trySend(encodeHil({ t: 'open', slot: 'rs485-1', mode: 'modbus' }));
  return reply;
}

describe('the refusal budget is per operator', () => {
  it("two sessions of one operator are ended after one budget's worth of refusals together, not two; the one that found it spent first, the other at its next refusal", async () => {
    const { b, audit } = fakeClockBroker();
    const alice = d.member('operator');
    const a1 = session(b, alice);
    const a2 = session(b, alice);
    const half = REFUSALS_PER_S * 0.75;
    expect(await a1.junk(half)).toBe(half);
    // a2 finds what a1 left: REFUSALS_PER_S - half answered, then its refusal over it ends a2.
    expect(await a2.junk(half)).toBe(REFUSALS_PER_S - half);
    expect(a2.ended()).toBe(true);
    expect(endOf(audit, a2.grant)).toMatchObject({ decision: 'refused', code: 'TOO_MANY_REFUSALS' });
    // a1 was not ended by a2's refusal: it goes on, until its own next refusal while the budget is spent.
    expect(a1.ended()).toBe(false);
    expect(endOf(audit, a1.grant)).toBeUndefined();
    expect(await a1.junk(1)).toBe(0);
    expect(a1.ended()).toBe(true);
    expect(endOf(audit, a1.grant)).toMatchObject({ decision: 'refused', code: 'TOO_MANY_REFUSALS' });
  });

  it('a session ended at its first refusal because another session of its operator spent the budget has that refusal in its audit, in full, with session_spent 0', async () => {
    // Review: the refusal that ends a session was neither written nor counted, so a session ended
    // at its first refusal left nothing of what it did in the audit.
    const { b, audit } = fakeClockBroker();
    const alice = d.member('operator');
    const honest = session(b, alice);
    const flooder = session(b, alice);
    expect(await flooder.junk(REFUSALS_PER_S)).toBe(REFUSALS_PER_S);
    expect(await honest.junk(1)).toBe(0);
    expect(honest.ended()).toBe(true);
    const own = audit.filter((l) => l.grant === honest.grant && l.decision === 'refused');
    expect(own.map((l) => [l.action, l.code, l.budget, l.session_spent])).toEqual([
      ['frame', 'BAD_MESSAGE', 'spent', 0],
      ['session.end', 'TOO_MANY_REFUSALS', undefined, undefined],
    ]);
  });

  it('a session ended for TOO_MANY_REFUSALS that reconnects at once is ended at its first refusal; once the bucket refilled (1 s), the next session is served', async () => {
    const { b, audit, clock } = fakeClockBroker();
    const mallory = d.member('operator');
    const m1 = session(b, mallory);
    expect(await m1.junk(REFUSALS_PER_S + 1)).toBe(REFUSALS_PER_S);
    await closed(m1.gateway);
    expect(endOf(audit, m1.grant)).toMatchObject({ code: 'TOO_MANY_REFUSALS' });

    // No time passed: the reconnected session finds the bucket empty, not a fresh one.
    const m2 = session(b, mallory);
    expect(await m2.junk(1)).toBe(0);
    expect(m2.ended()).toBe(true);
    expect(endOf(audit, m2.grant)).toMatchObject({ decision: 'refused', code: 'TOO_MANY_REFUSALS' });
    await closed(m2.gateway);

    // A second later it is full again: a new session opens its slot and is answered a whole budget.
    clock.advance(1000);
    const m3 = session(b, mallory);
    expect(await openSlot(m3.operator)).toMatchObject({ t: 'opened', slot: 'rs485-1' });
    expect(await m3.junk(REFUSALS_PER_S)).toBe(REFUSALS_PER_S);
    expect(m3.ended()).toBe(false);
  });

  it("one operator's sessions share a bucket; another operator's session has its own, full, at the same moment", async () => {
    const { b, audit } = fakeClockBroker();
    const alice = d.member('operator');
    const bob = d.member('operator');
    const a1 = session(b, alice);
    const a2 = session(b, alice);
    const b1 = session(b, bob);
    expect(await a1.junk(REFUSALS_PER_S)).toBe(REFUSALS_PER_S);
    // Bob is answered a whole budget, and keeps his session, while alice's is spent...
    expect(await b1.junk(REFUSALS_PER_S)).toBe(REFUSALS_PER_S);
    expect(b1.ended()).toBe(false);
    // ...which her other session finds.
    expect(await a2.junk(1)).toBe(0);
    expect(a2.ended()).toBe(true);
    expect(b1.ended()).toBe(false);
    expect(endOf(audit, b1.grant)).toBeUndefined();
  });

  it("an operator's budget is forgotten once its last session closed and its bucket is full again: at once if it spent nothing, within a second otherwise", async () => {
    const { b, clock } = fakeClockBroker();
    const alice = d.member('operator');
    const bob = d.member('operator');
    const a1 = session(b, alice);
    const a2 = session(b, alice);
    const b1 = session(b, bob);
    expect(b.budgetedOperators).toBe(2);
    // Alice spends 10: refilled in 10 / REFUSALS_PER_S s (50 ms).
    expect(await a1.junk(10)).toBe(10);
    const refillMs = (10 * 1000) / REFUSALS_PER_S;

    // Bob spent nothing: forgotten as his session closes.
    b1.operator.close();
    await closed(b1.gateway);
    expect(b.budgetedOperators).toBe(1);
    // Alice's first session closing keeps her entry (her other session draws on it).
    a1.operator.close();
    await closed(a1.gateway);
    expect(b.budgetedOperators).toBe(1);
    a2.operator.close();
    await closed(a2.gateway);
    // Her last closed with the bucket still refilling: kept until it is full, then forgotten.
    expect(b.budgetedOperators).toBe(1);
    clock.advance(refillMs - 1);
    expect(b.budgetedOperators).toBe(1);
    clock.advance(1);
    expect(b.budgetedOperators).toBe(0);
  });
});

describe('OperatorBudgets: what it keeps', () => {
  /** A fake clock that records each timer's options and how many are scheduled at once. */
  function recordingClock() {
    const fake = new FakeClock();
    const unref: (boolean | undefined)[] = [];
    let most = 0;
    const clock: Clock = {
      now: () => fake.now(),
      setTimeout(fn, ms, opts) {
        unref.push(opts?.unref);
        const cancel = fake.setTimeout(fn, ms);
        most = Math.max(most, fake.pending);
        return cancel;
      },
    };
    return { clock, fake, unref, most: () => most };
  }

  it('50 operators whose last sessions close over half a second, each with refusals just spent: one timer at a time, unref, and neither timer nor entry left once their buckets are full', () => {
    const { clock, fake, unref, most } = recordingClock();
    const budgets = new OperatorBudgets(clock);
    const operators = Array.from({ length: 50 }, (_, i) => `operator-${i}`);
    const spent = operators.map((op) => budgets.of(op));
    expect(budgets.size).toBe(50);
    for (const [i, op] of operators.entries()) {
      // 20 to 100 refusals, refilled in 100 to 500 ms: the first bucket to be full is not always the first closed.
      for (let k = 0; k < 20 * ((i % 5) + 1); k++) expect(spent[i]!.spend()).toBe(true);
      budgets.released(op); // its last session closed (the session cap says so)
      fake.advance(10);
    }
    expect(budgets.size).toBeGreaterThan(0);
    expect(most()).toBe(1);
    fake.advance(1000);
    expect(budgets.size).toBe(0);
    expect(fake.pending).toBe(0);
    expect(unref.length).toBeGreaterThan(0);
    expect(unref.every((u) => u === true)).toBe(true);
  });

  it('a last session closing looks at its own operator only: n operators closing cost O(n) bucket checks, not one sweep of every idle operator each', () => {
    // Review: each close swept the whole idle set, so n operators closing within a second were
    // O(n²) (16,000 took 4.7 s). Counted: calls of msToFull, one bucket check each.
    const { clock, fake } = recordingClock();
    const budgets = new OperatorBudgets(clock);
    const n = 100;
    const operators = Array.from({ length: n }, (_, i) => `operator-${i}`);
    const spent = operators.map((op) => budgets.of(op));
    const checks = vi.spyOn(RefusalBudget.prototype, 'msToFull');
    try {
      for (const [i, op] of operators.entries()) {
        expect(spent[i]!.spend()).toBe(true);
        budgets.released(op);
      }
      // One per close, and the sweeps (spaced SWEEP_EVERY_MS apart) while their buckets refill.
      expect(checks.mock.calls.length).toBeLessThanOrEqual(2 * n);
      fake.advance(1000 + SWEEP_EVERY_MS);
      expect(budgets.size).toBe(0);
      expect(checks.mock.calls.length).toBeLessThanOrEqual(4 * n);
    } finally {
      checks.mockRestore();
    }
  });
});
