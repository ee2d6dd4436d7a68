// Fairness of the per-unit queues, as a property over random push/shift sequences: once a unit is
// waiting, no other unit is served twice before it; queues never exceed their bound; nothing is
// lost or duplicated.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RoundRobinQueues } from '../../../src/ports/modbus/round-robin.js';

type Op = { push: number } | 'shift';

describe('RoundRobinQueues', () => {
  it('never serves a unit twice while another waits; bounded; loses nothing', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(fc.oneof(fc.integer({ min: 1, max: 4 }).map((u): Op => ({ push: u })), fc.constant<Op>('shift')), { maxLength: 200 }), (max, ops) => {
        const q = new RoundRobinQueues<number>(max);
        let id = 0;
        const accepted: number[] = [];
        const served: number[] = [];
        // passedOver[v][u] = times u was served while v waited (reset when v is served).
        const passedOver = new Map<number, Map<number, number>>();
        for (const op of ops) {
          if (op === 'shift') {
            const waiting = [1, 2, 3, 4].filter((u) => q.size(u) > 0);
            const r = q.shift();
            if (waiting.length === 0) {
              expect(r).toBeUndefined();
              continue;
            }
            served.push(r!.item);
            for (const v of waiting) {
              if (v === r!.unit) {
                passedOver.delete(v);
                continue;
              }
              const m = passedOver.get(v) ?? new Map<number, number>();
              const n = (m.get(r!.unit) ?? 0) + 1;
              expect(n).toBeLessThanOrEqual(1);
              m.set(r!.unit, n);
              passedOver.set(v, m);
            }
          } else {
            const ok = q.push(op.push, id);
            if (ok) accepted.push(id);
            expect(ok).toBe(q.size(op.push) <= max && accepted.at(-1) === id);
            expect(q.size(op.push)).toBeLessThanOrEqual(max);
            id++;
          }
        }
        served.push(...q.drain());
        expect([...served].sort((a, b) => a - b)).toEqual(accepted);
      }),
      { numRuns: 2000 },
    );
  });

  it('serves queued work in strict rotation', () => {
    const q = new RoundRobinQueues<string>(10);
    for (const x of ['a1', 'a2', 'a3']) q.push(1, x);
    for (const x of ['b1']) q.push(2, x);
    for (const x of ['c1', 'c2']) q.push(3, x);
    const order: string[] = [];
    for (let r = q.shift(); r; r = q.shift()) order.push(r.item);
    expect(order).toEqual(['a1', 'b1', 'c1', 'a2', 'c2', 'a3']);
  });
});
