// What both stores check before touching the database, so SQLite and PostgreSQL take and refuse
// exactly the same input (store.ts: one contract, two implementations). A batch with one bad reading
// is refused whole, before its transaction starts: nothing of it is stored.

import { fromHex } from '../../uzp/bytes.js';
import { CollectorCode, StoreError } from '../errors.js';
import type { AuditEntry, ReadingQuery, RevocationScope, StoredReading, StreamQuery } from './store.js';

/** A CID is BLAKE3-256 of the public key (ARCHITECTURE "Identity"). */
export const GATEWAY_BYTES = 32;
export const DEFAULT_LIMIT = 10_000;
export const MAX_LIMIT = 1_000_000;
/** JS Date's range in ms either side of 1970 (ECMA-262 §21.4.1.22). */
export const MAX_DATE_MS = 8.64e15;
/** Slot, device, kind and event names: far above any configured name, well below a page. */
const MAX_NAME = 1024;
/**
 * NUL cannot be stored in a PostgreSQL text column, and a lone surrogate would be replaced by U+FFFD
 * on the way to UTF-8 (the stored name would differ from the one given): refused in both stores.
 */
const UNSTORABLE = /\0|\p{Cs}/u;

function invalid(message: string): StoreError {
  return new StoreError(CollectorCode.STORE_INVALID, message);
}

export function checkGateway(g: unknown, what: string): asserts g is Uint8Array {
  if (!(g instanceof Uint8Array) || g.length !== GATEWAY_BYTES) {
    throw invalid(`${what}: gateway must be a ${GATEWAY_BYTES}-byte CID, got ${g instanceof Uint8Array ? `${g.length} bytes` : typeof g}`);
  }
}

function checkName(s: unknown, field: string, what: string): void {
  if (typeof s !== 'string' || s.length === 0 || s.length > MAX_NAME || UNSTORABLE.test(s)) {
    throw invalid(`${what}: ${field} must be a non-empty string of at most ${MAX_NAME} characters without NUL or lone surrogates`);
  }
}

function checkCount(n: unknown, field: string, what: string): void {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw invalid(`${what}: ${field} must be a non-negative safe integer, got ${String(n)}`);
}

export function checkReadings(readings: readonly StoredReading[]): void {
  if (!Array.isArray(readings)) throw invalid('insert: expected an array of readings');
  readings.forEach((r, i) => {
    const what = `insert: reading ${i}`;
    if (r === null || typeof r !== 'object') throw invalid(`${what}: not an object`);
    checkGateway(r.gateway, what);
    checkName(r.slot, 'slot', what);
    checkName(r.device, 'device', what);
    checkName(r.kind, 'kind', what);
    checkCount(r.epoch, 'epoch', what);
    checkCount(r.seq, 'seq', what);
    // Within JS Date's range: what is stored must be printable as a time (collector query).
    if (typeof r.ts !== 'number' || !Number.isSafeInteger(r.ts) || Math.abs(r.ts) > MAX_DATE_MS) throw invalid(`${what}: ts must be an integer within ±${MAX_DATE_MS} (Unix ms, the Date range), got ${String(r.ts)}`);
    if (!(r.value instanceof Uint8Array)) throw invalid(`${what}: value must be a Uint8Array`);
  });
}

/** The query's limit (DEFAULT_LIMIT when absent); checks every field. */
export function checkQuery(q: ReadingQuery): number {
  if (q.gateway !== undefined) checkGateway(q.gateway, 'query');
  if (q.slot !== undefined) checkName(q.slot, 'slot', 'query');
  for (const [field, v] of [['sinceMs', q.sinceMs], ['untilMs', q.untilMs]] as const) {
    if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v))) throw invalid(`query: ${field} must be a safe integer (Unix ms), got ${String(v)}`);
  }
  const limit = q.limit ?? DEFAULT_LIMIT;
  if (q.newest !== undefined && typeof q.newest !== 'boolean') throw invalid('query: newest must be a boolean');
  if (q.valueMaxBytes !== undefined && (!Number.isSafeInteger(q.valueMaxBytes) || q.valueMaxBytes < 0)) throw invalid(`query: valueMaxBytes must be a whole number, got ${String(q.valueMaxBytes)}`);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw invalid(`query: limit must be an integer from 1 to ${MAX_LIMIT}, got ${String(limit)}`);
  return limit;
}

/** A stream()'s query: the same fields as query()'s, without limit, newest or valueMaxBytes. */
export function checkStreamQuery(q: StreamQuery): void {
  for (const k of ['limit', 'newest', 'valueMaxBytes'] as const) {
    if ((q as ReadingQuery)[k] !== undefined) throw invalid(`stream: ${k} is not taken (stop reading instead)`);
  }
  checkQuery(q);
}

/** The limit of recentAudit(): 1 to MAX_LIMIT. */
export function checkAuditLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw invalid(`recentAudit: limit must be an integer from 1 to ${MAX_LIMIT}, got ${String(limit)}`);
  return limit;
}

/** A discovery revocation's object_id: 32 bytes. */
export function checkRevocationId(id: unknown, what: string): asserts id is Uint8Array {
  if (!(id instanceof Uint8Array) || id.length !== 32) throw invalid(`${what}: revocation must be a 32-byte object_id, got ${id instanceof Uint8Array ? `${id.length} bytes` : typeof id}`);
}

/** A revocation to record: its object_id and gateway 32 bytes each, its slots (when given) at least one name. */
export function checkRevocation(r: RevocationScope): void {
  if (r === null || typeof r !== 'object') throw invalid('revoke: not an object');
  checkGateway(r.gateway, 'revoke');
  checkRevocationId(r.revocation, 'revoke');
  if (r.slots === undefined) return;
  // Empty: nothing to delete (a whole grant never accepted here stored nothing), still recorded.
  if (!Array.isArray(r.slots)) throw invalid('revoke: slots must be an array (absent: every slot)');
  for (const s of r.slots) checkName(s, 'slot', 'revoke');
}

/** A cut-off time in Unix ms: a safe integer (ts columns are integers in both stores). */
export function checkBeforeMs(ms: number): void {
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms)) throw invalid(`deleteBefore: beforeMs must be a safe integer (Unix ms), got ${String(ms)}`);
}

/** An audit time: a safe integer (Unix ms). */
export function checkAt(at: number, what: string): void {
  if (typeof at !== 'number' || !Number.isSafeInteger(at)) throw invalid(`${what}: at must be a safe integer (Unix ms), got ${String(at)}`);
}

/** The audit entry's detail as JSON text (what both stores keep); refuses what JSON cannot carry. */
export function auditDetailText(e: AuditEntry): string {
  checkGateway(e.gateway, 'audit');
  checkName(e.event, 'event', 'audit');
  checkAt(e.at, 'audit');
  let text: string | undefined;
  try {
    text = JSON.stringify(e.detail);
  } catch (err) {
    throw invalid(`audit: detail is not JSON-serialisable (${(err as Error).message})`);
  }
  if (text === undefined || !text.startsWith('{')) throw invalid('audit: detail must be a JSON object');
  return text;
}

/** Parses an audit detail back; a row some other tool wrote badly comes back as {unparsed: text}, never throws. */
/** An audit row as both stores read it back (gateway hex, detail JSON text). */
export function auditEntryOf(r: { at: number | string; gateway: string; event: string; detail: string }): AuditEntry {
  return { at: Number(r.at), gateway: fromHex(r.gateway), event: r.event, detail: parseDetail(r.detail) };
}

export function parseDetail(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  return { unparsed: text };
}

/**
 * The message of anything thrown, for wrapping into a StoreError. A connect to a name with several
 * addresses ("localhost": ::1 and 127.0.0.1) fails with an AggregateError whose own message is empty.
 */
export function messageOf(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length > 0) return e.errors.map(messageOf).join('; ');
  if (e instanceof Error) return e.message !== '' ? e.message : ((e as { code?: string }).code ?? e.name);
  return String(e);
}

/** The STORE_OWNED refusal of claim(), the same from both stores. */
export function ownedError(where: string, owner: string, claimant: string): StoreError {
  return new StoreError(
    CollectorCode.STORE_OWNED,
    `${where} belongs to collector ${owner}, not to this one (${claimant}): a database holds one collector's readings and consents; give this collector its own database with --db (or the config's "db")`,
  );
}
