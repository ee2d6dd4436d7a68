// One log line per change of a unit's request state (stats.ts RequestState: ok / timeout / error),
// never one per request (issue #13). A unit that flaps (a noisy line: error, ok, error, ok...) would
// still write one line per request, so lines are held to one per unit per `quietMs`: a change inside
// that time is folded, and when the time is up one line gives the state the unit is in then and how
// many changes it folded. The log therefore always ends on the unit's current state, and a flap that
// came back to where it started still shows.

import type { Clock } from '../../lib/clock.js';
import type { PortLog } from '../log.js';
import type { RequestState } from './stats.js';

/** Default quiet time between two state lines of one unit (an implementation choice, not the spec's). */
export const STATE_LOG_QUIET_MS = 10_000;

/** What the line says about the change (the request that caused it). */
export interface StateCause {
  readonly reason: string;
  readonly code?: string;
}

interface UnitLogRecord {
  /** The state the last line reported. */
  logged: RequestState;
  loggedAt: number;
  /** Changes since the last line. */
  folded: number;
  current: RequestState;
  cause: StateCause;
  cancel: (() => void) | null;
}

export class UnitStateLog {
  private readonly units = new Map<number, UnitLogRecord>();

  constructor(
    private readonly log: PortLog,
    private readonly bus: string,
    private readonly clock: Clock,
    private readonly quietMs = STATE_LOG_QUIET_MS,
  ) {}

  /** `unit` went from `previous` to `state` (callers call only on a change). */
  changed(unit: number, previous: RequestState, state: RequestState, cause: StateCause): void {
    const now = this.clock.now();
    let r = this.units.get(unit);
    if (r === undefined) this.units.set(unit, (r = { logged: previous, loggedAt: -Infinity, folded: 0, current: previous, cause, cancel: null }));
    r.current = state;
    r.cause = cause;
    if (r.cancel === null && now - r.loggedAt >= this.quietMs) return this.write(unit, r, now);
    r.folded++;
    r.cancel ??= this.clock.setTimeout(() => this.flush(unit), r.loggedAt + this.quietMs - now, { unref: true });
  }

  /** Cancels folded lines still waiting (the bus is closing). */
  close(): void {
    for (const r of this.units.values()) r.cancel?.();
    this.units.clear();
  }

  private flush(unit: number): void {
    const r = this.units.get(unit);
    if (r === undefined) return;
    r.cancel = null;
    if (r.folded > 0) this.write(unit, r, this.clock.now());
  }

  private write(unit: number, r: UnitLogRecord, now: number): void {
    const fields = { bus: this.bus, unit, state: r.current, previous: r.logged, ...(r.folded > 0 ? { folded: r.folded } : {}), reason: r.cause.reason, ...(r.cause.code !== undefined ? { code: r.cause.code } : {}) };
    const flapped = r.folded > 0 ? ` (${r.folded} state change${r.folded === 1 ? '' : 's'} in the last ${Math.round((now - r.loggedAt) / 1000)} s folded into this line)` : '';
    const doing = r.current === 'ok' ? 'answers normally' : r.current === 'timeout' ? 'does not answer' : 'answers with errors';
    const msg = `modbus: unit ${unit} ${doing}, ${r.folded > 0 ? 'last reported' : 'was'} ${r.logged}: ${r.cause.reason}${flapped}`;
    if (r.current === 'ok' && r.folded === 0) this.log.info(fields, msg);
    else this.log.warn(fields, msg);
    r.logged = r.current;
    r.loggedAt = now;
    r.folded = 0;
  }
}
