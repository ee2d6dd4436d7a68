// One unit's operator queue shared between owners (ports/modbus/owner-queue.ts), as properties over
// random push/shift/remove sequences: an owner with nothing waiting is always let in; an owner with
// requests waiting only within the bound and its equal share; no owner is served twice while
// another waits; nothing is lost or duplicated.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { OwnerQueue } from '../../../src/ports/modbus/owner-queue.js';

type Op = { push: string } | { remove: number } | 'shift';

describe('OwnerQueue', () => {
  it('lets in an owner with nothing waiting, bounds the others by their share, serves owners in turn, loses nothing', () => {
    const owner = fc.constantFrom('a', 'b', 'c');
    const op = fc.oneof(owner.map((o): Op => ({ push: o })), fc.nat(50).map((i): Op => ({ remove: i })), fc.constant<Op>('shift'));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(op, { maxLength: 200 }), (max, ops) => {
        const q = new OwnerQueue<{ id: number; owner: string }>(max);
        const waiting = new Map<string, number[]>(); // the model: each owner's FIFO
        const held = (o: string): number => waiting.get(o)?.length ?? 0;
        const owners = (): string[] => [...waiting].filter(([, v]) => v.length > 0).map(([k]) => k);
        const passedOver = new Map<string, Set<string>>(); // owners served while this one waited
        let id = 0;
        const accepted: number[] = [];
        const objects: { id: number; owner: string }[] = [];
        const out: number[] = [];
        for (const o of ops) {
          if (o === 'shift') {
            if (q.length === 0) continue;
            const before = owners();
            const item = q.shift();
            const fifo = waiting.get(item.owner)!;
            expect(fifo.shift()).toBe(item.id); // each owner's requests in order
            out.push(item.id);
            for (const w of before) {
              if (w === item.owner) {
                passedOver.delete(w);
                continue;
              }
              const seen = passedOver.get(w) ?? new Set<string>();
              expect(seen.has(item.owner)).toBe(false); // served twice while w waited
              seen.add(item.owner);
              passedOver.set(w, seen);
            }
          } else if ('push' in o) {
            const n = owners().length;
            const mine = held(o.push);
            const expected = mine === 0 || (q.length < max && mine < Math.ceil(max / n));
            const item = { id: id++, owner: o.push };
            expect(q.push(item, o.push)).toBe(expected);
            if (expected) {
              accepted.push(item.id);
              objects.push(item);
              waiting.set(o.push, [...(waiting.get(o.push) ?? []), item.id]);
            }
          } else {
            if (objects.length === 0) continue;
            const obj = objects[o.remove % objects.length]!;
            const fifo = waiting.get(obj.owner)!;
            const present = fifo.includes(obj.id);
            expect(q.remove({ ...obj })).toBe(false); // by identity: an equal copy is not the request
            expect(q.remove(obj)).toBe(present);
            if (present) {
              fifo.splice(fifo.indexOf(obj.id), 1);
              out.push(obj.id);
              if (fifo.length === 0) passedOver.delete(obj.owner);
            }
          }
          expect(q.length).toBe([...waiting.values()].reduce((s, v) => s + v.length, 0));
          expect(q.length).toBeLessThanOrEqual(max + owners().length);
        }
        out.push(...q.items().map((x) => x.id));
        expect([...out].sort((x, y) => x - y)).toEqual(accepted);
      }),
      { numRuns: 1000 },
    );
  });

  it('a second owner next to one holding the whole queue is let in and served next but one', () => {
    const q = new OwnerQueue<string>(4);
    for (const x of ['a1', 'a2', 'a3', 'a4']) expect(q.push(x, 'a')).toBe(true);
    expect(q.push('a5', 'a')).toBe(false); // full
    expect(q.push('b1', 'b')).toBe(true); // nothing waiting: let in
    expect(q.push('b2', 'b')).toBe(false); // full, and b holds one already
    expect([q.shift(), q.shift(), q.shift()]).toEqual(['a1', 'b1', 'a2']);
    // b has nothing waiting now: a is alone again and may fill the queue.
    expect(q.push('a6', 'a')).toBe(true);
    expect(q.push('a7', 'a')).toBe(true);
    expect(q.push('a8', 'a')).toBe(false);
  });
});
