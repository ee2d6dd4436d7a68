// Which units on a bus answer. A unit is `silent` after MODBUS_SILENT_AFTER_TIMEOUTS consecutive
// requests drew no reply at all (timeouts), and `alive` again at its next reply of any kind, an
// exception reply included (the slave is there; it refused). CRC errors and an offline bus say
// nothing about the unit itself (noise, or the port is down), so they change nothing.
//
// What this is for: an operator's request to a unit known to be silent is answered at once
// (exception 0x0B from the broker) instead of waiting out a timeout behind the poll plan (issue
// #10: 1.0-1.65 s for timeout_ms 200), while the background polls keep probing it. Knowledge goes
// stale: a unit nothing has tried for `reprobeMs` is tried again by the next request, so a unit
// with no polls of its own is never written off for good. Listeners hear every state change
// (alive -> silent -> alive), never every request.

export type UnitState = 'unknown' | 'alive' | 'silent';

interface UnitRecord {
  state: UnitState;
  consecutiveTimeouts: number;
  /** Clock ms of the last request that reached the wire. */
  lastTriedAt: number;
}

export type UnitStateListener = (unit: number, state: UnitState, info: { readonly previous: UnitState; readonly consecutiveTimeouts: number }) => void;

export class UnitLiveness {
  private readonly units = new Map<number, UnitRecord>();
  private readonly listeners = new Set<UnitStateListener>();

  constructor(
    private readonly silentAfter: number,
    private readonly reprobeMs: number,
  ) {}

  state(unit: number): UnitState {
    return this.units.get(unit)?.state ?? 'unknown';
  }

  /** Consecutive timeouts of `unit` since its last reply. */
  timeouts(unit: number): number {
    return this.units.get(unit)?.consecutiveTimeouts ?? 0;
  }

  onChange(cb: UnitStateListener): () => void {
    this.listeners.add(cb);
    return () => void this.listeners.delete(cb);
  }

  /** True when a request to `unit` would only repeat a recent timeout: silent, and tried within reprobeMs. */
  knownSilent(unit: number, now: number): boolean {
    const r = this.units.get(unit);
    return r !== undefined && r.state === 'silent' && now - r.lastTriedAt < this.reprobeMs;
  }

  /** A request to `unit` went on the wire and got a reply (true) or timed out (false). */
  record(unit: number, answered: boolean, now: number): void {
    let r = this.units.get(unit);
    if (r === undefined) this.units.set(unit, (r = { state: 'unknown', consecutiveTimeouts: 0, lastTriedAt: now }));
    r.lastTriedAt = now;
    if (answered) {
      r.consecutiveTimeouts = 0;
      this.set(unit, r, 'alive');
      return;
    }
    r.consecutiveTimeouts++;
    if (r.consecutiveTimeouts >= this.silentAfter) this.set(unit, r, 'silent');
  }

  private set(unit: number, r: UnitRecord, state: UnitState): void {
    if (r.state === state) return;
    const previous = r.state;
    r.state = state;
    for (const cb of [...this.listeners]) {
      try {
        cb(unit, state, { previous, consecutiveTimeouts: r.consecutiveTimeouts });
      } catch {
        // A listener's bug must not break the bus; listeners log their own failures.
      }
    }
  }
}
