// The per-slave diagnostics an operator holding `diag.read` gets over the HIL (issue #13;
// docs/PROFILE.md §HIL "diag mode"): for one Modbus slot, how each unit's requests ended (state,
// requests, replies, timeouts, CRC errors, exceptions by code, response times min/avg/p99/max),
// the same summed over the slot, and the line-level counters. A CBOR map inside the `diag`
// message; field names are the wire's (snake_case), values are counters (unsigned integers),
// response times in ms (finite non-negative numbers, floats allowed as in every HIL message) and
// closed sets of words. Decoding is strict (closed maps, bounded arrays): an operator's CLI prints
// what it decoded, so nothing unchecked reaches a terminal.

import { asArray, asBool, asMap, asText, asUint, onlyKeys, type CborMap, type CborValue } from '../uzp/cbor.js';
import { CommonCode, DecodeError } from '../lib/errors.js';

export const DIAG_STATES = ['unknown', 'ok', 'timeout', 'error'] as const;
/** How a unit's last request that reached the wire ended (ports/modbus/stats.ts RequestState). */
export type DiagState = (typeof DIAG_STATES)[number];

/** Response times of answered requests, ms; absent from the wire while nothing was answered. */
export interface DiagResponseTimes {
  readonly n: number;
  readonly min: number;
  readonly avg: number;
  readonly p99: number;
  readonly max: number;
}

export interface DiagCounters {
  readonly state: DiagState;
  readonly requests: number;
  readonly replies: number;
  readonly timeouts: number;
  readonly crc_errors: number;
  readonly exceptions: number;
  /** [exception code, count] pairs, codes ascending, counts above 0. */
  readonly by_code: readonly (readonly [number, number])[];
  readonly rt?: DiagResponseTimes;
}

export interface DiagUnit extends DiagCounters {
  readonly unit: number;
  readonly name?: string;
  /** False for a unit only operator requests reached (the poll config does not name it). */
  readonly polled: boolean;
  readonly wrong_unit: number;
  readonly mismatched: number;
  readonly stale: number;
  readonly offline: number;
  readonly queue_full: number;
  readonly silent: number;
  /** Stable code of the unit's last failed poll (MODBUS_TIMEOUT, MODBUS_EXCEPTION, ...). */
  readonly last_error?: string;
}

export interface DiagReport {
  /** The slot's port: open, or why not (the serial link's state, or `waiting` for a TCP peer). */
  readonly port: string;
  readonly all: DiagCounters;
  readonly units: readonly DiagUnit[];
  readonly line: { readonly stray_frames: number; readonly stray_noise: number; readonly desyncs: number };
}

/** Unit ids 0..255 (Modbus TCP), one entry each at most. */
export const MAX_DIAG_UNITS = 256;
const MAX_WORD = 32;
const MAX_NAME = 64;
const COUNTER_KEYS = ['state', 'requests', 'replies', 'timeouts', 'crc_errors', 'exceptions', 'by_code', 'rt'] as const;
const UNIT_KEYS = [...COUNTER_KEYS, 'unit', 'name', 'polled', 'wrong_unit', 'mismatched', 'stale', 'offline', 'queue_full', 'silent', 'last_error'] as const;

function ms(v: CborValue | undefined, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}: expected a finite number of ms, 0 or more`);
  return v;
}

function state(v: CborValue | undefined, what: string): DiagState {
  const s = asText(v, what, MAX_WORD);
  if (!(DIAG_STATES as readonly string[]).includes(s)) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}: expected one of ${DIAG_STATES.join('|')}`);
  return s as DiagState;
}

function byCode(v: CborValue | undefined, what: string): [number, number][] {
  let last = 0;
  return asArray(v, what, 255).map((p, i) => {
    const pair = asArray(p, `${what}[${i}]`, 2);
    if (pair.length !== 2) throw new DecodeError(CommonCode.DECODE_LENGTH, `${what}[${i}]: expected [code, count]`);
    const code = asUint(pair[0], `${what}[${i}] code`);
    const n = asUint(pair[1], `${what}[${i}] count`);
    // Ascending and unique: one encoding per report (PROFILE: "codes ascending, counts above 0").
    if (code <= last || code > 255) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}[${i}]: codes are 1..255, ascending, each once`);
    if (n === 0) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}[${i}]: a code is listed only with a count above 0`);
    last = code;
    return [code, n];
  });
}

function responseTimes(v: CborValue | undefined, what: string): DiagResponseTimes {
  const m = asMap(v, what);
  onlyKeys(m, ['n', 'min', 'avg', 'p99', 'max'], what);
  const n = asUint(m.n, `${what}.n`);
  if (n === 0) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}.n: rt is left out while nothing was answered`);
  return { n, min: ms(m.min, `${what}.min`), avg: ms(m.avg, `${what}.avg`), p99: ms(m.p99, `${what}.p99`), max: ms(m.max, `${what}.max`) };
}

function counters(m: CborMap, what: string): DiagCounters {
  return {
    state: state(m.state, `${what}.state`),
    requests: asUint(m.requests, `${what}.requests`),
    replies: asUint(m.replies, `${what}.replies`),
    timeouts: asUint(m.timeouts, `${what}.timeouts`),
    crc_errors: asUint(m.crc_errors, `${what}.crc_errors`),
    exceptions: asUint(m.exceptions, `${what}.exceptions`),
    by_code: byCode(m.by_code, `${what}.by_code`),
    ...(m.rt !== undefined ? { rt: responseTimes(m.rt, `${what}.rt`) } : {}),
  };
}

function unit(v: CborValue, what: string): DiagUnit {
  const m = asMap(v, what);
  onlyKeys(m, UNIT_KEYS, what);
  const id = asUint(m.unit, `${what}.unit`);
  if (id > 255) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}.unit: above 255`);
  return {
    unit: id,
    ...(m.name !== undefined ? { name: asText(m.name, `${what}.name`, MAX_NAME) } : {}),
    polled: asBool(m.polled, `${what}.polled`),
    ...counters(m, what),
    wrong_unit: asUint(m.wrong_unit, `${what}.wrong_unit`),
    mismatched: asUint(m.mismatched, `${what}.mismatched`),
    stale: asUint(m.stale, `${what}.stale`),
    offline: asUint(m.offline, `${what}.offline`),
    queue_full: asUint(m.queue_full, `${what}.queue_full`),
    silent: asUint(m.silent, `${what}.silent`),
    ...(m.last_error !== undefined ? { last_error: asText(m.last_error, `${what}.last_error`, MAX_WORD) } : {}),
  };
}

/** Decodes the `d` of a `diag` message; throws DecodeError only. */
export function decodeDiagReport(v: CborValue | undefined, what = 'diag.d'): DiagReport {
  const m = asMap(v, what);
  onlyKeys(m, ['port', 'all', 'units', 'line'], what);
  const all = asMap(m.all, `${what}.all`);
  onlyKeys(all, COUNTER_KEYS, `${what}.all`);
  const line = asMap(m.line, `${what}.line`);
  onlyKeys(line, ['stray_frames', 'stray_noise', 'desyncs'], `${what}.line`);
  const units = asArray(m.units, `${what}.units`, MAX_DIAG_UNITS).map((u, i) => unit(u, `${what}.units[${i}]`));
  for (let i = 1; i < units.length; i++) {
    if (units[i]!.unit <= units[i - 1]!.unit) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}.units: unit ids ascending, each once`);
  }
  return {
    port: asText(m.port, `${what}.port`, MAX_WORD),
    all: counters(all, `${what}.all`),
    units,
    line: { stray_frames: asUint(line.stray_frames, `${what}.line.stray_frames`), stray_noise: asUint(line.stray_noise, `${what}.line.stray_noise`), desyncs: asUint(line.desyncs, `${what}.line.desyncs`) },
  };
}

/** The report as a CBOR map: absent optional fields are left out, at every depth. */
export function diagReportValue(r: DiagReport): CborMap {
  return defined(r) as CborMap;
}

function defined(v: unknown): CborValue {
  if (Array.isArray(v)) return v.map(defined);
  if (v === null || typeof v !== 'object') return v as CborValue;
  const out: CborMap = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = defined(x);
  return out;
}
