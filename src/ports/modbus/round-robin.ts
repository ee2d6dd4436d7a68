// Bounded per-unit queues served round robin: the bus takes one request from each unit that has
// work, in turn. A dead slave therefore costs at most one timeout per round, however many
// requests are queued for it, and never stalls the others (the field's top Modbus complaint).
// Pure data structure; the bus owns the lock and the wire.

export class RoundRobinQueues<T> {
  private readonly queues = new Map<number, T[]>();
  /** Units with queued work, in the order they will be served. */
  private readonly ring: number[] = [];
  /** The unit served last: it had its turn, so it goes behind any other unit waiting now. */
  private last: number | undefined;

  constructor(private readonly perUnitMax: number) {}

  /** False (and nothing queued) when `unit` already has perUnitMax items waiting. */
  push(unit: number, item: T): boolean {
    let q = this.queues.get(unit);
    if (!q) this.queues.set(unit, (q = []));
    if (q.length >= this.perUnitMax) return false;
    q.push(item);
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
    const item = q.shift()!;
    if (q.length > 0) this.ring.push(unit);
    else this.queues.delete(unit);
    return { unit, item };
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
    for (const q of this.queues.values()) all.push(...q);
    this.queues.clear();
    this.ring.length = 0;
    return all;
  }
}
