// One unit's operator requests, shared fairly between the owners that sent them (the HIL broker
// makes each operator an owner, by CID, whatever the number of its sessions). Without it the unit's
// queue was one FIFO: an operator keeping it full (64 requests in flight against 16 places) left
// every other operator of that unit with BUFFER_FULL on almost every request, answered 0x0B as if
// the unit were dead (review of 3deca72: 26 of 30 reads of a second operator).
//
// - Owners are served in turn: each owner's requests are a FIFO, and the queue takes one request
//   from each owner with work, round robin (an owner served goes behind every owner waiting).
// - An owner with nothing waiting is always let in, even when the queue is full: no owner can lock
//   another out. The queue therefore holds at most `max` plus one per owner.
// - An owner with requests waiting may add one while the queue holds fewer than `max` and it holds
//   fewer than its equal share, ceil(max / owners with requests waiting): alone, all of `max`;
//   next to a second owner, half; so a flooder gets the refusals (the broker answers BUSY), not
//   the others.

import type { UnitQueue } from './round-robin.js';

export class OwnerQueue<T> implements UnitQueue<T> {
  private readonly byOwner = new Map<unknown, T[]>();
  /** Owners with requests waiting, in the order they are served. */
  private readonly turn: unknown[] = [];
  private n = 0;

  constructor(private readonly max: number) {}

  get length(): number {
    return this.n;
  }

  push(item: T, owner: unknown): boolean {
    let q = this.byOwner.get(owner);
    if (q === undefined) {
      this.byOwner.set(owner, (q = []));
      this.turn.push(owner);
    } else if (this.n >= this.max || q.length >= Math.ceil(this.max / this.byOwner.size)) {
      return false;
    }
    q.push(item);
    this.n++;
    return true;
  }

  shift(): T {
    const owner = this.turn.shift();
    const q = this.byOwner.get(owner)!;
    const item = q.shift()!;
    this.n--;
    if (q.length > 0) this.turn.push(owner);
    else this.byOwner.delete(owner);
    return item;
  }

  remove(item: T): boolean {
    for (const [owner, q] of this.byOwner) {
      const i = q.indexOf(item);
      if (i < 0) continue;
      q.splice(i, 1);
      this.n--;
      if (q.length === 0) {
        this.byOwner.delete(owner);
        this.turn.splice(this.turn.indexOf(owner), 1);
      }
      return true;
    }
    return false;
  }

  items(): T[] {
    return [...this.byOwner.values()].flat();
  }
}
