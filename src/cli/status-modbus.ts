// `uzpgw status`: the lines under a Modbus slot, one per unit, from the poller's status detail
// (hil-devices/modbus-poller.ts status(), issue #13): request state, requests, timeouts, CRC errors,
// exceptions by code and response time avg/p99/max. The detail comes from a file that an older
// gateway may have written, so anything missing or of the wrong shape is skipped, never thrown on.

import type { ResponseTimeSummary } from '../ports/modbus/response-times.js';

interface DiagnosticsLike {
  readonly state: string;
  readonly requests: number;
  readonly timeouts: number;
  readonly crcErrors: number;
  readonly exceptionsByCode: Record<string, number>;
  readonly responseMs: ResponseTimeSummary;
}

function isDiagnostics(d: unknown): d is DiagnosticsLike {
  if (typeof d !== 'object' || d === null) return false;
  const x = d as Record<string, unknown>;
  return typeof x.state === 'string' && typeof x.requests === 'number' && typeof x.timeouts === 'number' && typeof x.crcErrors === 'number' && typeof x.exceptionsByCode === 'object' && x.exceptionsByCode !== null && typeof x.responseMs === 'object' && x.responseMs !== null;
}

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

function ms(x: number | null | undefined): string {
  if (typeof x !== 'number') return '-';
  return x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0);
}

/** `ok, 1204 requests, 2 timeouts, 0 crc errors, exceptions 0x02×3, response avg 12.4 p99 31.0 max 150 ms`. */
export function diagnosticsText(d: DiagnosticsLike): string {
  const codes = Object.entries(d.exceptionsByCode)
    .filter(([, n]) => typeof n === 'number' && n > 0)
    .map(([code, n]) => `0x${Number(code).toString(16).padStart(2, '0')}×${n}`);
  const r = d.responseMs;
  const response = typeof r.n === 'number' && r.n > 0 ? `response avg ${ms(r.avg)} p99 ${ms(r.p99)} max ${ms(r.max)} ms` : 'no replies';
  // States that need a look are in capitals, as artefact expiry is.
  const state = d.state === 'ok' || d.state === 'unknown' ? d.state : d.state.toUpperCase();
  return `${state}, ${plural(d.requests, 'request')}, ${plural(d.timeouts, 'timeout')}, ${plural(d.crcErrors, 'crc error')}, ${codes.length > 0 ? `exceptions ${codes.join(' ')}` : 'no exceptions'}, ${response}`;
}

/** One line per unit (and a summary line when there are several), each starting with `indent`. */
export function modbusUnitLines(detail: object, indent: string): string[] {
  const units = (detail as { units?: unknown }).units;
  if (!Array.isArray(units)) return [];
  const lines: string[] = [];
  for (const u of units as unknown[]) {
    if (typeof u !== 'object' || u === null) continue;
    const { unit, name, polled, diagnostics } = u as { unit?: unknown; name?: unknown; polled?: unknown; diagnostics?: unknown };
    if (typeof unit !== 'number' || !isDiagnostics(diagnostics)) continue;
    const label = `unit ${unit}${typeof name === 'string' ? ` (${name})` : ''}${polled === false ? ' [not polled]' : ''}`;
    lines.push(`${indent}${label}: ${diagnosticsText(diagnostics)}`);
  }
  const all = (detail as { diagnostics?: unknown }).diagnostics;
  if (lines.length > 1 && isDiagnostics(all)) lines.unshift(`${indent}all units: ${diagnosticsText(all)}`);
  return lines;
}
