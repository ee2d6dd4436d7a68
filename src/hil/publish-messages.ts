// The publish protocol (issue #12; outbound-indexing draft §11, as profiled in docs/PROFILE.md
// §Publishing): what a gateway (the Publisher) and a collector (its Indexer) say on the one channel
// of a session the gateway opened outbound (§11.1). Each message is one deterministic-CBOR map with
// a type `t`, like the HIL messages (messages.ts). The signed objects (Discovery Grant, receipts,
// revocations) travel as opaque envelope bytes and are validated by their own codecs
// (uzp/artefacts/validate-discovery.ts); this file only frames them.
//
// gateway -> collector: announce (§11.2: identity is the session's; catalogue, Discovery Grant with
//   its policy, what the log dropped, digests), readings (§11.3 push: a window of log rows),
//   range (§11.3 answer to a request), fresh (§11.4), revoke (§11.6).
// collector -> gateway: accepted / refused (the announce), receipt (§11.5, per window),
//   request (§11.3 indexer request within the session), revoked (§11.6 signed confirmation).

import { asArray, asBool, asBytes, asMap, asText, asUint, decodeCanonical, encodeCanonical, onlyKeys, type CborMap, type CborValue } from '../uzp/cbor.js';
import { CborReader } from '../uzp/cbor-reader.js';
import { CborWriter } from '../uzp/cbor-writer.js';
import { CommonCode, DecodeError } from '../lib/errors.js';

export const ANNOUNCE_ACTIONS = ['new', 'refresh'] as const;
export type AnnounceAction = (typeof ANNOUNCE_ACTIONS)[number];
export const FRESH_WHAT = ['catalogue', 'config', 'firmware'] as const;
export type FreshWhat = (typeof FRESH_WHAT)[number];

/** Rows per readings/range message: a window the collector stores in one transaction. */
export const MAX_WINDOW_ROWS = 4096;
const MAX_ID = 64;
const MAX_SLOTS = 64;
/**
 * A reading's value on the wire: room for a serial-raw chunk at its 65,536-byte default and more,
 * and with the envelope well inside one message (1 MiB). A gateway passes over larger ones.
 */
export const MAX_READING_VALUE = 512 * 1024;
/**
 * A reading's ts (Unix ms) is at most JS Date's bound, 8.64e15 ms (year 275760): a larger stamp
 * was stored and then crashed every `collector query` covering it (new Date() RangeError).
 */
export const MAX_TS_MS = 8.64e15;
/** An envelope is never larger than the artefact bound (MAX_ENVELOPE_BYTES). */
const MAX_ENVELOPE = 64 * 1024;
const MAX_REGISTERS = 256;

/** One logged reading on the wire: the gateway's log row, value as its canonical CBOR bytes. */
export interface WireReading {
  readonly slot: string;
  readonly device: string;
  readonly kind: string;
  readonly epoch: number;
  readonly seq: number;
  readonly ts: number;
  readonly value: Uint8Array;
}

/** A named register of a modbus slot's map, as the catalogue states it (with its unit). */
export interface CatalogueRegister {
  readonly name: string;
  readonly unit?: string;
}

/** One slot the gateway offers (§11.2 "site scope"): its device, kind, driver and, for Modbus, its register map. */
export interface CatalogueEntry {
  readonly slot: string;
  readonly device: string;
  readonly kind: string;
  readonly driver: string;
  readonly registers?: readonly CatalogueRegister[];
}

export interface Digests {
  /** BLAKE3-256 of the catalogue's canonical CBOR. */
  readonly catalogue: Uint8Array;
  readonly config?: Uint8Array;
  readonly firmware?: Uint8Array;
}

export type PublishMessage =
  | {
      t: 'announce';
      action: AnnounceAction;
      name?: string;
      board: string;
      catalogue: readonly CatalogueEntry[];
      /** The Discovery Grant envelope (issuer = this gateway, audience = the collector). */
      grant: Uint8Array;
      /** Readings the log's byte bound dropped, per slot, since the log was created. */
      dropped: Readonly<Record<string, number>>;
      digests: Digests;
    }
  | { t: 'readings'; w: number; rows: readonly WireReading[] }
  | { t: 'range'; id: number; rows: readonly WireReading[]; done: boolean }
  | { t: 'fresh'; what: FreshWhat; digest: Uint8Array; at_ms: number }
  | { t: 'revoke'; rev: Uint8Array }
  /** `revoked`: slots of the grant the collector holds revoked (sent only when some are): the gateway stops sending them. */
  | { t: 'accepted'; grant: Uint8Array; revoked?: readonly string[] }
  | { t: 'refused'; code: string }
  | { t: 'receipt'; w: number; rc: Uint8Array }
  | { t: 'request'; id: number; slot: string; epoch: number; first: number; last: number }
  /** `rev`: the object_id of the revocation this confirms. */
  | { t: 'revoked'; rev: Uint8Array; rc: Uint8Array };

/** `rows` = [ row, ... ], row = [ slot, device, kind, epoch, seq, ts, value ] (docs/PROFILE.md §Publishing). */
function writeRows(w: CborWriter, rows: readonly WireReading[]): Uint8Array {
  w.text('rows').array(rows.length);
  for (const r of rows) w.array(7).text(r.slot).text(r.device).text(r.kind).uint(r.epoch).uint(r.seq).uint(r.ts).bytes(r.value);
  return w.finish();
}

function rowsSizeHint(rows: readonly WireReading[]): number {
  let n = 64;
  for (const r of rows) n += 48 + r.slot.length + r.device.length + r.value.length;
  return n;
}

function catalogueToCbor(c: readonly CatalogueEntry[]): CborValue[] {
  return c.map((e): CborMap => ({
    slot: e.slot,
    dev: e.device,
    kind: e.kind,
    drv: e.driver,
    ...(e.registers !== undefined && e.registers.length > 0 ? { regs: e.registers.map((r): CborMap => ({ n: r.name, ...(r.unit !== undefined ? { u: r.unit } : {}) })) } : {}),
  }));
}

/** The catalogue's canonical bytes (its digest is what `fresh` signals a change of). */
export function encodeCatalogue(c: readonly CatalogueEntry[]): Uint8Array {
  return encodeCanonical(catalogueToCbor(c));
}

export function encodePublish(m: PublishMessage): Uint8Array {
  switch (m.t) {
    case 'announce': {
      const d: CborMap = { cat: m.digests.catalogue, ...(m.digests.config ? { cfg: m.digests.config } : {}), ...(m.digests.firmware ? { fw: m.digests.firmware } : {}) };
      const dropped: CborMap = {};
      for (const [k, v] of Object.entries(m.dropped)) if (v > 0) dropped[k] = v;
      return encodeCanonical({ t: m.t, action: m.action, ...(m.name !== undefined ? { name: m.name } : {}), board: m.board, cat: catalogueToCbor(m.catalogue), grant: m.grant, dropped, digests: d });
    }
    // The hot messages, written by hand; the same bytes as encodeCanonical of
    // { t, w, rows } and { t, id, rows, done } (test/hil/publish-messages.test.ts holds them equal).
    // Keys in RFC 8949 §4.2.1 order: t, w, rows and t, id, done, rows.
    case 'readings':
      return writeRows(new CborWriter(rowsSizeHint(m.rows)).map(3).text('t').text(m.t).text('w').uint(m.w), m.rows);
    case 'range':
      return writeRows(new CborWriter(rowsSizeHint(m.rows)).map(4).text('t').text(m.t).text('id').uint(m.id).text('done').bool(m.done), m.rows);
    default: {
      const out: CborMap = {};
      for (const [k, v] of Object.entries(m)) if (v !== undefined) out[k] = v as CborValue;
      return encodeCanonical(out);
    }
  }
}

function oneOf<T extends string>(v: CborValue | undefined, what: string, allowed: readonly T[]): T {
  const s = asText(v, what, 32);
  if (!(allowed as readonly string[]).includes(s)) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}: expected one of ${allowed.join('|')}`);
  return s as T;
}

function id(v: CborValue | undefined, what: string): string {
  const s = asText(v, what, MAX_ID);
  if (s.length === 0) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}: empty`);
  return s;
}

function u32(v: CborValue | undefined, what: string): number {
  const n = asUint(v, what);
  if (n > 0xffff_ffff) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}: above 2^32-1`);
  return n;
}

function tsMs(v: CborValue | undefined, what: string): number {
  const n = asUint(v, what);
  if (n > MAX_TS_MS) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}: above ${MAX_TS_MS} ms (the Date range)`);
  return n;
}

function envelope(v: CborValue | undefined, what: string): Uint8Array {
  const b = asBytes(v, what);
  if (b.length === 0 || b.length > MAX_ENVELOPE) throw new DecodeError(CommonCode.DECODE_LENGTH, `${what}: 1..${MAX_ENVELOPE} bytes`);
  return b;
}

function digest(v: CborValue | undefined, what: string): Uint8Array {
  return asBytes(v, what, 32);
}

function decodeRows(v: CborValue | undefined, what: string): WireReading[] {
  return asArray(v, what, MAX_WINDOW_ROWS).map((row, i) => {
    const a = asArray(row, `${what}[${i}]`, 7);
    if (a.length !== 7) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}[${i}]: expected [slot, device, kind, epoch, seq, ts, value]`);
    const value = asBytes(a[6], `${what}[${i}].value`);
    if (value.length === 0 || value.length > MAX_READING_VALUE) throw new DecodeError(CommonCode.DECODE_LENGTH, `${what}[${i}].value: 1..${MAX_READING_VALUE} bytes`);
    return { slot: id(a[0], `${what}[${i}].slot`), device: id(a[1], `${what}[${i}].device`), kind: id(a[2], `${what}[${i}].kind`), epoch: u32(a[3], `${what}[${i}].epoch`), seq: asUint(a[4], `${what}[${i}].seq`), ts: tsMs(a[5], `${what}[${i}].ts`), value };
  });
}

/**
 * readings and range read strictly in their one canonical form (keys t, w, rows and t, id, done,
 * rows); anything else, valid or not, is undefined and goes through the generic decoder, which
 * accepts the same bytes with the same value and refuses the rest with its code.
 */
function readWindow(bytes: Uint8Array): PublishMessage | undefined {
  const r = new CborReader(bytes);
  const n = r.head(5);
  if (n === 3) {
    if (!r.key('t') || !r.key('readings') || !r.key('w')) return undefined;
    const w = r.uint();
    if (w === undefined || w > 0xffff_ffff || !r.key('rows')) return undefined;
    const rows = readRows(r);
    return rows !== undefined && r.done ? { t: 'readings', w, rows } : undefined;
  }
  if (n === 4) {
    if (!r.key('t') || !r.key('range') || !r.key('id')) return undefined;
    const id = r.uint();
    if (id === undefined || id > 0xffff_ffff || !r.key('done')) return undefined;
    const done = r.bool();
    if (done === undefined || !r.key('rows')) return undefined;
    const rows = readRows(r);
    return rows !== undefined && r.done ? { t: 'range', id, rows, done } : undefined;
  }
  return undefined;
}

function readRows(r: CborReader): WireReading[] | undefined {
  const n = r.head(4);
  if (n === undefined || n > MAX_WINDOW_ROWS) return undefined;
  const rows: WireReading[] = [];
  for (let i = 0; i < n; i++) {
    if (r.head(4) !== 7) return undefined;
    const slot = r.text();
    const device = r.text();
    const kind = r.text();
    const epoch = r.uint();
    const seq = r.uint();
    const ts = r.uint();
    const value = r.bytes();
    if (!isId(slot) || !isId(device) || !isId(kind) || epoch === undefined || epoch > 0xffff_ffff || seq === undefined || ts === undefined || ts > MAX_TS_MS) return undefined;
    if (value === undefined || value.length === 0 || value.length > MAX_READING_VALUE) return undefined;
    rows.push({ slot, device, kind, epoch, seq, ts, value });
  }
  return rows;
}

function isId(s: string | undefined): s is string {
  return s !== undefined && s.length > 0 && s.length <= MAX_ID;
}

function decodeCatalogue(v: CborValue | undefined): CatalogueEntry[] {
  const seen = new Set<string>();
  return asArray(v, 'announce.cat', MAX_SLOTS).map((item, i) => {
    const w = `announce.cat[${i}]`;
    const m = asMap(item, w);
    onlyKeys(m, ['slot', 'dev', 'kind', 'drv', 'regs'], w);
    const slot = id(m.slot, `${w}.slot`);
    if (seen.has(slot)) throw new DecodeError(CommonCode.DECODE_VALUE, `${w}.slot: ${JSON.stringify(slot)} twice`);
    seen.add(slot);
    const regs =
      m.regs === undefined
        ? undefined
        : asArray(m.regs, `${w}.regs`, MAX_REGISTERS).map((r, j) => {
            const rm = asMap(r, `${w}.regs[${j}]`);
            onlyKeys(rm, ['n', 'u'], `${w}.regs[${j}]`);
            return { name: id(rm.n, `${w}.regs[${j}].n`), ...(rm.u !== undefined ? { unit: asText(rm.u, `${w}.regs[${j}].u`, 32) } : {}) };
          });
    return { slot, device: id(m.dev, `${w}.dev`), kind: id(m.kind, `${w}.kind`), driver: id(m.drv, `${w}.drv`), ...(regs !== undefined ? { registers: regs } : {}) };
  });
}

function decodeDropped(v: CborValue | undefined): Record<string, number> {
  const m = asMap(v, 'announce.dropped');
  const out: Record<string, number> = {};
  const keys = Object.keys(m);
  if (keys.length > MAX_SLOTS) throw new DecodeError(CommonCode.DECODE_LENGTH, `announce.dropped: more than ${MAX_SLOTS} slots`);
  for (const k of keys) out[id(k, 'announce.dropped key')] = asUint(m[k], `announce.dropped.${k}`);
  return out;
}

/** Decodes one publish-channel message; throws DecodeError only. */
export function decodePublish(bytes: Uint8Array): PublishMessage {
  const fast = readWindow(bytes);
  if (fast !== undefined) return fast;
  const m = asMap(decodeCanonical(bytes, 8), 'publish message');
  const t = asText(m.t, 'publish message type', 16);
  switch (t) {
    case 'announce': {
      onlyKeys(m, ['t', 'action', 'name', 'board', 'cat', 'grant', 'dropped', 'digests'], 'announce');
      const d = asMap(m.digests, 'announce.digests');
      onlyKeys(d, ['cat', 'cfg', 'fw'], 'announce.digests');
      return {
        t,
        action: oneOf(m.action, 'announce.action', ANNOUNCE_ACTIONS),
        ...(m.name !== undefined ? { name: asText(m.name, 'announce.name', 64) } : {}),
        board: id(m.board, 'announce.board'),
        catalogue: decodeCatalogue(m.cat),
        grant: envelope(m.grant, 'announce.grant'),
        dropped: decodeDropped(m.dropped),
        digests: {
          catalogue: digest(d.cat, 'announce.digests.cat'),
          ...(d.cfg !== undefined ? { config: digest(d.cfg, 'announce.digests.cfg') } : {}),
          ...(d.fw !== undefined ? { firmware: digest(d.fw, 'announce.digests.fw') } : {}),
        },
      };
    }
    case 'readings':
      onlyKeys(m, ['t', 'w', 'rows'], 'readings');
      return { t, w: u32(m.w, 'readings.w'), rows: decodeRows(m.rows, 'readings.rows') };
    case 'range':
      onlyKeys(m, ['t', 'id', 'rows', 'done'], 'range');
      return { t, id: u32(m.id, 'range.id'), rows: decodeRows(m.rows, 'range.rows'), done: asBool(m.done, 'range.done') };
    case 'fresh':
      onlyKeys(m, ['t', 'what', 'digest', 'at_ms'], 'fresh');
      return { t, what: oneOf(m.what, 'fresh.what', FRESH_WHAT), digest: digest(m.digest, 'fresh.digest'), at_ms: asUint(m.at_ms, 'fresh.at_ms') };
    case 'revoke':
      onlyKeys(m, ['t', 'rev'], 'revoke');
      return { t, rev: envelope(m.rev, 'revoke.rev') };
    case 'accepted': {
      onlyKeys(m, ['t', 'grant', 'revoked'], 'accepted');
      const grant = digest(m.grant, 'accepted.grant');
      if (m.revoked === undefined) return { t, grant };
      const revoked = asArray(m.revoked, 'accepted.revoked', MAX_SLOTS).map((x, i) => id(x, `accepted.revoked[${i}]`));
      if (revoked.length === 0 || new Set(revoked).size !== revoked.length) throw new DecodeError(CommonCode.DECODE_VALUE, 'accepted.revoked: 1..64 distinct slots (left out when none)');
      return { t, grant, revoked };
    }
    case 'refused':
      onlyKeys(m, ['t', 'code'], 'refused');
      return { t, code: id(m.code, 'refused.code') };
    case 'receipt':
      onlyKeys(m, ['t', 'w', 'rc'], 'receipt');
      return { t, w: u32(m.w, 'receipt.w'), rc: envelope(m.rc, 'receipt.rc') };
    case 'request': {
      onlyKeys(m, ['t', 'id', 'slot', 'epoch', 'first', 'last'], 'request');
      const first = asUint(m.first, 'request.first');
      const last = asUint(m.last, 'request.last');
      if (first > last) throw new DecodeError(CommonCode.DECODE_VALUE, 'request: first > last');
      return { t, id: u32(m.id, 'request.id'), slot: id(m.slot, 'request.slot'), epoch: u32(m.epoch, 'request.epoch'), first, last };
    }
    case 'revoked':
      onlyKeys(m, ['t', 'rev', 'rc'], 'revoked');
      return { t, rev: digest(m.rev, 'revoked.rev'), rc: envelope(m.rc, 'revoked.rc') };
    default:
      throw new DecodeError(CommonCode.DECODE_TYPE, `unknown publish message type ${JSON.stringify(t.slice(0, 16))}`);
  }
}
