// Counters per unit id, so an operator can tell a dead slave (timeouts) from a noisy line (CRC
// errors) from a misaddressed one (wrong-unit replies) from a slow one (response times) at a glance
// (issue #13). Events that belong to the line rather than to a unit (noise with no request in
// flight) go to the bus-wide `line` record. Everything here is bounded: a fixed set of counters per
// unit (at most 256 unit ids, at most 256 exception codes each) and a fixed-size histogram.

import { EMPTY_RESPONSE_TIMES, ResponseTimes, type ResponseTimeSummary } from './response-times.js';

/**
 * How the unit's last request that reached the wire ended (bus.ts decides, per request):
 * - `ok`: a normal reply;
 * - `timeout`: no reply at all (ModbusTimeoutError);
 * - `error`: something came back but not a usable answer: corrupted frames and no valid reply
 *   (ModbusCrcError: CRC or framing, Modbus over Serial Line §2.5.1.2), an exception reply
 *   (Application Protocol §7), or an I/O error writing the request;
 * - `unknown`: never asked.
 * A disconnected bus (ModbusOfflineError), a closed bus and requests refused before the wire (silent
 * unit, full queue) leave it as it was: they say nothing about the unit, and the port's own status
 * says the port is down. Broadcasts (unit 0 on RTU) are never answered, so they leave it too.
 */
export type RequestState = 'unknown' | 'ok' | 'timeout' | 'error';

export interface UnitStats {
  /** How the last request ended (see RequestState). */
  state: RequestState;
  /** Requests put on the wire. */
  requests: number;
  /** Requests answered with a matching reply (exception replies included). */
  replies: number;
  timeouts: number;
  /** Exception replies (§7), any code. */
  exceptions: number;
  /** Exception replies by exception code (1 illegal function, 2 illegal data address, ...). */
  exceptionsByCode: Record<number, number>;
  /** Valid frames from another unit id, dropped while this unit's request was in flight. */
  wrongUnitDrops: number;
  /** Runs of corrupted bytes (bad CRC, truncated frames) while this unit's request was in flight. */
  crcErrors: number;
  /** Valid frames from this unit that did not answer the request (stale or wrong function). */
  mismatchedDrops: number;
  /** Modbus TCP replies with an old transaction id (late answers to timed-out requests). */
  staleDrops: number;
  /** Requests refused at once because the bus was disconnected. */
  offline: number;
  /** Requests refused because the unit's queue was full. */
  queueFull: number;
  /** Operator requests refused at once because the unit is known silent (MODBUS_UNIT_SILENT). */
  silentRefusals: number;
  /** Round trip of the last answered request, ms. */
  lastLatencyMs: number | null;
  /**
   * Round trips of answered requests (exception replies included), ms: from when the bus hands the
   * request to the transport (which first waits out the t3.5 line silence and any configured
   * inter-request delay) to the reply.
   */
  responseMs: ResponseTimeSummary;
}

interface LineStats {
  /** Frames or noise with no request in flight. */
  strayFrames: number;
  strayNoise: number;
  /** Modbus TCP streams that lost framing and were reconnected. */
  desyncs: number;
}

/** Several units summed (a slot's bus): counters added, response times over every sample, the worst state. */
export interface UnitsSummary {
  /** Units with any counter. */
  readonly units: number;
  /** The worst of the units' states: timeout, then error, then ok; unknown only if none was asked. */
  readonly state: RequestState;
  readonly requests: number;
  readonly replies: number;
  readonly timeouts: number;
  readonly crcErrors: number;
  readonly exceptions: number;
  readonly exceptionsByCode: Record<number, number>;
  readonly responseMs: ResponseTimeSummary;
}

const STATE_RANK: Record<RequestState, number> = { unknown: 0, ok: 1, error: 2, timeout: 3 };

/** The worse of two states (for a slot's summary): a unit that does not answer at all is worst. */
export function worseState(a: RequestState, b: RequestState): RequestState {
  return STATE_RANK[b] > STATE_RANK[a] ? b : a;
}

function emptyUnitStats(): UnitStats {
  return { state: 'unknown', requests: 0, replies: 0, timeouts: 0, exceptions: 0, exceptionsByCode: {}, wrongUnitDrops: 0, crcErrors: 0, mismatchedDrops: 0, staleDrops: 0, offline: 0, queueFull: 0, silentRefusals: 0, lastLatencyMs: null, responseMs: EMPTY_RESPONSE_TIMES };
}


export class BusStats {
  private readonly units = new Map<number, UnitStats>();
  private readonly times = new Map<number, ResponseTimes>();
  readonly line: LineStats = { strayFrames: 0, strayNoise: 0, desyncs: 0 };

  /**
   * The live counters of `unit` (transports count into them while its request is in flight). Its
   * `responseMs` is filled in by the copies (unitSnapshot, snapshot), not kept up to date here.
   */
  unit(unit: number): UnitStats {
    let s = this.units.get(unit);
    if (!s) this.units.set(unit, (s = emptyUnitStats()));
    return s;
  }

  /** A copy of `unit`'s counters, with its response-time summary. */
  unitSnapshot(unit: number): UnitStats {
    return this.copy(unit, this.unit(unit));
  }

  /** One answered request's round trip (per poll: only the histogram; summaries are made by the copies). */
  recordResponse(unit: number, ms: number): void {
    let t = this.times.get(unit);
    if (!t) this.times.set(unit, (t = new ResponseTimes()));
    t.record(ms);
  }

  /** One exception reply with exception code `code` (also counted in `exceptions`). */
  recordException(unit: number, code: number): void {
    const s = this.unit(unit);
    s.exceptions++;
    s.exceptionsByCode[code] = (s.exceptionsByCode[code] ?? 0) + 1;
  }

  /** Sets `unit`'s state; returns the previous one. */
  setState(unit: number, state: RequestState): RequestState {
    const s = this.unit(unit);
    const previous = s.state;
    s.state = state;
    return previous;
  }

  /** Unit ids with counters, ascending. */
  unitIds(): number[] {
    return [...this.units.keys()].sort((a, b) => a - b);
  }

  /** A copy of every unit's counters, keyed by unit id. */
  snapshot(): Record<number, UnitStats> {
    const out: Record<number, UnitStats> = {};
    for (const u of this.unitIds()) out[u] = this.copy(u, this.units.get(u)!);
    return out;
  }

  private copy(unit: number, s: UnitStats): UnitStats {
    return { ...s, exceptionsByCode: { ...s.exceptionsByCode }, responseMs: this.times.get(unit)?.summary() ?? EMPTY_RESPONSE_TIMES };
  }

  /** `units` (default: every unit with counters) summed; response times merged from the histograms. */
  summary(units: readonly number[] = this.unitIds()): UnitsSummary {
    const times = new ResponseTimes();
    const byCode: Record<number, number> = {};
    let state: RequestState = 'unknown';
    let n = 0;
    let requests = 0;
    let replies = 0;
    let timeouts = 0;
    let crcErrors = 0;
    let exceptions = 0;
    for (const u of new Set(units)) {
      const s = this.units.get(u);
      if (s === undefined) continue;
      n++;
      state = worseState(state, s.state);
      requests += s.requests;
      replies += s.replies;
      timeouts += s.timeouts;
      crcErrors += s.crcErrors;
      exceptions += s.exceptions;
      for (const [code, c] of Object.entries(s.exceptionsByCode)) byCode[Number(code)] = (byCode[Number(code)] ?? 0) + c;
      const t = this.times.get(u);
      if (t) times.merge(t);
    }
    return { units: n, state, requests, replies, timeouts, crcErrors, exceptions, exceptionsByCode: byCode, responseMs: times.summary() };
  }
}
