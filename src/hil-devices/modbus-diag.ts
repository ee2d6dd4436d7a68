// A Modbus poller's status as the per-slave diagnostics report of diag mode (src/hil/diag-report.ts,
// docs/PROFILE.md §HIL "diag mode"): the same counters `uzpgw status` shows, under the wire's names.

import type { UnitStats, UnitsSummary } from '../ports/modbus/stats.js';
import type { ResponseTimeSummary } from '../ports/modbus/response-times.js';
import type { DiagCounters, DiagReport, DiagResponseTimes, DiagUnit } from '../hil/diag-report.js';
import type { ModbusPollerStatus, UnitStatus } from './modbus-poller.js';

function rt(r: ResponseTimeSummary): DiagResponseTimes | undefined {
  if (r.n === 0 || r.min === null || r.avg === null || r.p99 === null || r.max === null) return undefined;
  return { n: r.n, min: r.min, avg: r.avg, p99: r.p99, max: r.max };
}

function counters(s: UnitStats | UnitsSummary): DiagCounters {
  const byCode = Object.entries(s.exceptionsByCode)
    .map(([code, n]) => [Number(code), n] as const)
    .filter(([code, n]) => n > 0 && code >= 1 && code <= 255)
    .sort((a, b) => a[0] - b[0]);
  const times = rt(s.responseMs);
  return {
    state: s.state,
    requests: s.requests,
    replies: s.replies,
    timeouts: s.timeouts,
    crc_errors: s.crcErrors,
    exceptions: s.exceptions,
    by_code: byCode,
    ...(times !== undefined ? { rt: times } : {}),
  };
}

function unit(u: UnitStatus): DiagUnit {
  const d = u.diagnostics;
  return {
    unit: u.unit,
    ...(u.name !== undefined ? { name: u.name } : {}),
    polled: u.polled,
    ...counters(d),
    wrong_unit: d.wrongUnitDrops,
    mismatched: d.mismatchedDrops,
    stale: d.staleDrops,
    offline: d.offline,
    queue_full: d.queueFull,
    silent: d.silentRefusals,
    ...(u.lastErrorCode !== null ? { last_error: u.lastErrorCode } : {}),
  };
}

export function diagReportOf(s: ModbusPollerStatus): DiagReport {
  return {
    port: s.port.state,
    all: counters(s.diagnostics),
    units: s.units.map(unit),
    line: { stray_frames: s.diagnostics.line.strayFrames, stray_noise: s.diagnostics.line.strayNoise, desyncs: s.diagnostics.line.desyncs },
  };
}
