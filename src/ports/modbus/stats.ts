// Counters per unit id, so an operator can tell a dead slave (timeouts) from a noisy line (CRC
// errors) from a misaddressed one (wrong-unit replies) at a glance. Events that belong to the
// line rather than to a unit (noise with no request in flight) go to the bus-wide `line` record.

export interface UnitStats {
  /** Requests put on the wire. */
  requests: number;
  /** Requests answered with a matching reply (exception replies included). */
  replies: number;
  timeouts: number;
  /** Exception replies (§7), any code. */
  exceptions: number;
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
}

interface LineStats {
  /** Frames or noise with no request in flight. */
  strayFrames: number;
  strayNoise: number;
  /** Modbus TCP streams that lost framing and were reconnected. */
  desyncs: number;
}

function emptyUnitStats(): UnitStats {
  return { requests: 0, replies: 0, timeouts: 0, exceptions: 0, wrongUnitDrops: 0, crcErrors: 0, mismatchedDrops: 0, staleDrops: 0, offline: 0, queueFull: 0, silentRefusals: 0, lastLatencyMs: null };
}

export class BusStats {
  private readonly units = new Map<number, UnitStats>();
  readonly line: LineStats = { strayFrames: 0, strayNoise: 0, desyncs: 0 };

  unit(unit: number): UnitStats {
    let s = this.units.get(unit);
    if (!s) this.units.set(unit, (s = emptyUnitStats()));
    return s;
  }

  /** A copy of every unit's counters, keyed by unit id. */
  snapshot(): Record<number, UnitStats> {
    const out: Record<number, UnitStats> = {};
    for (const [u, s] of [...this.units].sort((a, b) => a[0] - b[0])) out[u] = { ...s };
    return out;
  }
}
