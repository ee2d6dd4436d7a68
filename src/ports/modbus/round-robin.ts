// Bounded per-unit queues served round robin: the bus takes one request from each unit that has
// work, in turn. A dead slave therefore costs at most one timeout per round, however many
// requests are queued for it, and never stalls the others (the field's top Modbus complaint).
// Pure data structure; the bus owns the lock and the wire.
//
// What one unit's queue is, is the caller's choice: a FIFO bounded at perUnitMax (background
// polls), or a queue shared fairly between owners (operator requests, owner-queue.ts), so that a
// unit's work is served in turn between the sessions that sent it as well as between units.

/** One unit's waiting items. */
export interface UnitQueue<T> {
  readonly length: number;
  /** False (and nothing queued) when the queue, or `owner`'s share of it, is full. */
  push(item: T, owner: unknown): boolean;
  /** The next item; only called when length > 0. */
  shift(): T;
  /** Takes `item` out; false when it is not waiting here. */
  remove(item: T): boolean;
  items(): T[];
}

/** A plain FIFO of at most `max` items; owners play no part. */
class FifoQueue<T> implements UnitQueue<T> {
  private readonly q: T[] = [];
  constructor(private readonly max: number) {}
  get length(): number {
    return this.q.length;
  }
  push(item: T): boolean {
    if (this.q.length >= this.max) return false;
    this.q.push(item);
    return true;
  }
  shift(): T {
    return this.q.shift()!;
  }
  remove(item: T): boolean {
    const i = this.q.indexOf(item);
    if (i < 0) return false;
    this.q.splice(i, 1);
    return true;
  }
  items(): T[] {
    return [...this.q];
  }
}

export class RoundRobinQueues<T> {
  private readonly queues = new Map<number, UnitQueue<T>>();
  /** Units with queued work, in the order they will be served. */
  private readonly ring: number[] = [];
  /** The unit served last: it had its turn, so it goes behind any other unit waiting now. */
  private last: number | undefined;
  private readonly newQueue: () => UnitQueue<T>;

  /** `perUnit`: the bound of a FIFO per unit, or how to make one unit's queue. */
  constructor(perUnit: number | (() => UnitQueue<T>)) {
    this.newQueue = typeof perUnit === 'number' ? () => new FifoQueue<T>(perUnit) : perUnit;
  }

  /** False (and nothing queued) when `unit`'s queue (or `owner`'s share of it) is full. */
  push(unit: number, item: T, owner?: unknown): boolean {
    let q = this.queues.get(unit);
    if (!q) this.queues.set(unit, (q = this.newQueue()));
    if (!q.push(item, owner)) {
      if (q.length === 0) this.queues.delete(unit);
      return false;
    }
    if (q.length === 1) this.ring.push(unit);
    return true;
  }

  /** The next item in round-robin order: the head of the next unit's queue. */
  shift(): { unit: number; item: T } | undefined {
    // A unit whose queue emptied when it was served re-enters the ring when new work arrives,
    // possibly ahead of a unit that waited through that turn; it has had its turn, so rotate it.
    if (this.ring.length > 1 && this.ring[0] === this.last) this.ring.push(this.ring.shift()!);
    const unit = this.ring.shift();
    this.last = unit;
    if (unit === undefined) return undefined;
    const q = this.queues.get(unit)!;
    const item = q.shift();
    if (q.length > 0) this.ring.push(unit);
    else this.queues.delete(unit);
    return { unit, item };
  }

  /** Takes `item` out of `unit`'s queue before its turn (its request was aborted); false when it is not waiting. */
  remove(unit: number, item: T): boolean {
    const q = this.queues.get(unit);
    if (q === undefined || !q.remove(item)) return false;
    if (q.length === 0) {
      this.queues.delete(unit);
      this.ring.splice(this.ring.indexOf(unit), 1);
    }
    return true;
  }

  size(unit?: number): number {
    if (unit !== undefined) return this.queues.get(unit)?.length ?? 0;
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  /** Empties every queue and returns what was in them. */
  drain(): T[] {
    const all: T[] = [];
    for (const q of this.queues.values()) all.push(...q.items());
    this.queues.clear();
    this.ring.length = 0;
    return all;
  }
}
