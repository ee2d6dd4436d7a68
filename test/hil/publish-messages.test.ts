// The publish channel (docs/PROFILE.md §Publishing; OI draft §11): gateway (Publisher) and
// collector (Indexer) messages, src/hil/publish-messages.ts.
//   1. Vectors, test/vectors/publish-messages.json: written from the JSON wire maps below by a CBOR
//      writer of this file's own (RFC 8949 §4.2.1: shortest heads, keys sorted by their encoded
//      bytes, shortest exact floats), not by src/; UPDATE_VECTORS=1 rewrites the file. Each decodes
//      to the message its wire map means and encodes back to the same bytes; the refused ones fail
//      with their code. The envelopes inside are those of test/vectors/publish.json, and the vectors
//      agree with each other (the receipt covers the window it answers, `accepted` names the grant
//      the announcement carried). Also the `tail` resume of the HIL `open` (§HIL protocol).
//   2. Property round trips for every message type.
//   3. Junk: random bytes, every truncation, mutations, extra keys, wrong types, over-bound lists and
//      values, structured junk from the messages' own keys -> DecodeError only, never another exception.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { blake3 } from '@noble/hashes/blake3.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeHil, encodeHil, type HilMessage } from '../../src/hil/messages.js';
import { ANNOUNCE_ACTIONS, decodePublish, encodeCatalogue, encodePublish, FRESH_WHAT, MAX_READING_VALUE, MAX_TS_MS, MAX_WINDOW_ROWS, type CatalogueEntry, type PublishMessage, type WireReading } from '../../src/hil/publish-messages.js';
import { covers } from '../../src/hil/publish-ranges.js';
import { openArtefact } from '../../src/uzp/artefacts/open.js';
import { validateDiscoveryRevocation, validateReceipt } from '../../src/uzp/artefacts/validate-discovery.js';
import { fromHex, toHex } from '../../src/uzp/bytes.js';
import { decodeCanonical, encodeCanonical, type CborMap, type CborValue } from '../../src/uzp/cbor.js';
import { nodeProvider } from '../../src/uzp/crypto/node.js';
import { CodedError, DecodeError } from '../../src/lib/errors.js';
import { cborArb, mutatedArb } from '../uzp/artefacts/arbitraries.js';

const FILE = new URL('../vectors/publish-messages.json', import.meta.url);
const PROFILE = readFileSync(new URL('../../docs/PROFILE.md', import.meta.url), 'utf8');

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

// ---- an RFC 8949 §4.2.1 writer of this file's own (the vectors' bytes never come from src/) ----

function head(major: number, n: number): number[] {
  if (n < 24) return [(major << 5) | n];
  const w = n < 0x100 ? 1 : n < 0x1_0000 ? 2 : n < 0x1_0000_0000 ? 4 : 8;
  const out = [(major << 5) | { 1: 24, 2: 25, 4: 26, 8: 27 }[w]!];
  let x = BigInt(n);
  const bytes: number[] = [];
  for (let i = 0; i < w; i++, x >>= 8n) bytes.unshift(Number(x & 0xffn));
  return [...out, ...bytes];
}

/** binary16 bit patterns by value (every finite half, -0 apart): the shortest float is looked up, not computed. */
const HALF = (() => {
  const m = new Map<number, number>();
  for (let bits = 0; bits < 0x10000; bits++) {
    const e = (bits >> 10) & 0x1f;
    const f = bits & 0x3ff;
    if (e === 0x1f) continue;
    const v = (bits & 0x8000 ? -1 : 1) * (e === 0 ? f * 2 ** -24 : (1 + f / 1024) * 2 ** (e - 15));
    if (!Object.is(v, -0) && !m.has(v)) m.set(v, bits);
  }
  return m;
})();

function float(x: number): number[] {
  const half = HALF.get(x);
  if (half !== undefined) return [0xf9, half >> 8, half & 0xff];
  const b = Buffer.alloc(8);
  if (Math.fround(x) === x) {
    b.writeFloatBE(x);
    return [0xfa, ...b.subarray(0, 4)];
  }
  b.writeDoubleBE(x);
  return [0xfb, ...b];
}

function lexicographic(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Canonical CBOR of a vector's JSON: {"hex": …} is a byte string, integers are integers, other numbers floats. */
function cbor(v: Json): number[] {
  if (v === null) return [0xf6];
  if (typeof v === 'boolean') return [v ? 0xf5 : 0xf4];
  if (typeof v === 'number') return Number.isInteger(v) ? (v >= 0 ? head(0, v) : head(1, -1 - v)) : float(v);
  if (typeof v === 'string') {
    const b = [...Buffer.from(v, 'utf8')];
    return [...head(3, b.length), ...b];
  }
  if (Array.isArray(v)) return [...head(4, v.length), ...v.flatMap(cbor)];
  const keys = Object.keys(v);
  if (keys.length === 1 && keys[0] === 'hex') {
    const b = [...Buffer.from(v.hex as string, 'hex')];
    return [...head(2, b.length), ...b];
  }
  const entries = keys.map((k) => [cbor(k), cbor(v[k]!)] as const).sort((a, b) => lexicographic(a[0], b[0]));
  return [...head(5, keys.length), ...entries.flatMap(([k, x]) => [...k, ...x])];
}
const hexOf = (v: Json): string => Buffer.from(cbor(v)).toString('hex');

// ---- the vectors ----

interface MessageVector {
  name: string;
  direction: 'gateway -> collector' | 'collector -> gateway';
  message: Json;
  /** readings and range: each row's value decoded (the reading value of docs/PROFILE.md §HIL). */
  values?: Json[];
  hex: string;
}
interface BadVector {
  name: string;
  hex: string;
  code: string;
}
interface Vectors {
  source: string;
  description: string;
  messages: MessageVector[];
  bad_messages: BadVector[];
  hil_messages: { name: string; message: Json; hex: string }[];
  hil_bad_messages: BadVector[];
}

const ARTEFACTS = JSON.parse(readFileSync(new URL('../vectors/publish.json', import.meta.url), 'utf8')) as {
  identities: Record<'gateway' | 'collector', { public: string; cid: string }>;
  vectors: { name: string; object_id: string; envelope_hex: string }[];
};
const artefact = (name: string): { object_id: string; envelope_hex: string } => {
  const a = ARTEFACTS.vectors.find((x) => x.name === name);
  if (a === undefined) throw new Error(`test/vectors/publish.json has no ${name}`);
  return a;
};

const B = (hex: string): Json => ({ hex });
const fill = (byte: number, n = 32): Json => B(Buffer.alloc(n, byte).toString('hex'));
/** 2026-01-01T01:00:00Z in ms, the time of the publish.json receipt. */
const T_MS = 1_767_229_200_000;

/** A reading value as the modbus-poller driver makes it (docs/PROFILE.md §HIL, Reading values per driver). */
const modbus = (name: string, value: Json, eng?: string): Json => ({ unit: 1, name, value, ...(eng !== undefined ? { eng_unit: eng } : {}) });
function row(slot: string, device: string, epoch: number, seq: number, ts: number, value: Json): { row: Json; value: Json } {
  return { row: [slot, device, 'modbus', epoch, seq, ts, B(hexOf(value))], value };
}

function generate(): Vectors {
  const grant = artefact('discovery-grant-two-slots');
  const everySlot = artefact('discovery-grant-every-slot');
  const cat: Json = [
    {
      slot: 'rs485-1',
      dev: 'th-bus-1',
      kind: 'modbus',
      drv: 'modbus-poller',
      regs: [{ n: '1/temperature', u: '°C' }, { n: '1/humidity', u: '%' }, { n: '1/alarm' }],
    },
    { slot: 'tty-1', dev: 'sensor-7', kind: 'serial', drv: 'serial-line' },
  ];
  const window = [
    row('rs485-1', 'th-bus-1', 4, 1, T_MS, modbus('temperature', 21.5, '°C')),
    row('rs485-1', 'th-bus-1', 4, 2, T_MS, modbus('humidity', 40.25, '%')),
    row('rs485-1', 'th-bus-1', 4, 3, T_MS + 1000, modbus('alarm', false)),
  ];
  const backfill = [row('rs485-1', 'th-bus-1', 4, 4, T_MS + 2000, modbus('temperature', 21.4, '°C')), row('rs485-1', 'th-bus-1', 4, 5, T_MS + 2000, modbus('humidity', 100000, '%'))];
  const g2c = 'gateway -> collector' as const;
  const c2g = 'collector -> gateway' as const;
  const messages: Omit<MessageVector, 'hex'>[] = [
    {
      name: 'announce: a first session (action new), two slots, one with dropped readings',
      direction: g2c,
      message: {
        t: 'announce',
        action: 'new',
        name: 'plant-7-gw',
        board: 'rpi-4b',
        cat,
        grant: B(grant.envelope_hex),
        dropped: { 'rs485-1': 12 },
        digests: { cat: B(Buffer.from(blake3(Uint8Array.from(cbor(cat)))).toString('hex')), cfg: fill(0xc0) },
      },
    },
    {
      name: 'announce: a later session (action refresh), no name, empty catalogue, nothing dropped',
      direction: g2c,
      message: { t: 'announce', action: 'refresh', board: 'virtual', cat: [], grant: B(everySlot.envelope_hex), dropped: {}, digests: { cat: B(Buffer.from(blake3(Uint8Array.of(0x80))).toString('hex')) } },
    },
    { name: 'accepted: the Discovery Grant of the announcement', direction: c2g, message: { t: 'accepted', grant: B(grant.object_id) } },
    { name: 'accepted: the same, with slot tty-1 of the grant revoked at the collector', direction: c2g, message: { t: 'accepted', grant: B(grant.object_id), revoked: ['tty-1'] } },
    { name: 'refused: the grant names another collector', direction: c2g, message: { t: 'refused', code: 'DISCOVERY_AUDIENCE' } },
    { name: "refused: a slot outside the trust domain's Grant", direction: c2g, message: { t: 'refused', code: 'GRANT_SCOPE' } },
    { name: 'readings: window 1, three readings of one slot in boot epoch 4', direction: g2c, message: { t: 'readings', w: 1, rows: window.map((r) => r.row) }, values: window.map((r) => r.value) },
    { name: 'receipt: window 1, covered by the receipt of test/vectors/publish.json', direction: c2g, message: { t: 'receipt', w: 1, rc: B(artefact('receipt-accept').envelope_hex) } },
    { name: 'request: seqs 4..9 of rs485-1 in epoch 4', direction: c2g, message: { t: 'request', id: 1, slot: 'rs485-1', epoch: 4, first: 4, last: 9 } },
    { name: 'range: the answer, seqs 4 and 5 (the log no longer holds 6..9), done', direction: g2c, message: { t: 'range', id: 1, rows: backfill.map((r) => r.row), done: true }, values: backfill.map((r) => r.value) },
    { name: 'range: the answer to a request for nothing the log holds', direction: g2c, message: { t: 'range', id: 2, rows: [], done: true } },
    { name: 'fresh: the catalogue changed', direction: g2c, message: { t: 'fresh', what: 'catalogue', digest: fill(0xca), at_ms: T_MS + 5000 } },
    { name: 'revoke: slot tty-1 of the grant', direction: g2c, message: { t: 'revoke', rev: B(artefact('discovery-revocation-slot-of-grant').envelope_hex) } },
    {
      name: 'revoked: the signed confirmation of that revocation',
      direction: c2g,
      message: { t: 'revoked', rev: B(artefact('discovery-revocation-slot-of-grant').object_id), rc: B(artefact('receipt-revoke').envelope_hex) },
    },
  ];
  const bad = (name: string, message: Json, code: string): BadVector => ({ name, hex: hexOf(message), code });
  const badRaw = (name: string, bytes: number[], code: string): BadVector => ({ name, hex: Buffer.from(bytes).toString('hex'), code });
  const okRow: Json = ['rs485-1', 'th-bus-1', 'modbus', 4, 1, T_MS, B('a0')];
  const acceptedOutOfOrder = [0xa2, ...cbor('grant'), ...cbor(fill(0x11)), ...cbor('t'), ...cbor('accepted')];
  const floatAt = [0xa4, ...cbor('t'), ...cbor('fresh'), ...cbor('what'), ...cbor('config'), ...cbor('at_ms'), 0xf9, 0x3c, 0x00, ...cbor('digest'), ...cbor(fill(0xca))];
  const bad_messages: BadVector[] = [
    bad('an unknown message type', { t: 'status' }, 'DECODE_TYPE'),
    bad('a field the message does not have', { t: 'accepted', grant: fill(0x11), x: 1 }, 'DECODE_VALUE'),
    badRaw('map keys out of deterministic order', acceptedOutOfOrder, 'CBOR_NON_CANONICAL'),
    badRaw('a float (1.0) where an integer goes', floatAt, 'CBOR_INVALID'),
    bad('accepted: an object_id of 31 bytes', { t: 'accepted', grant: fill(0x11, 31) }, 'DECODE_LENGTH'),
    bad('accepted: an empty revoked list (left out when none)', { t: 'accepted', grant: fill(0x11), revoked: [] }, 'DECODE_VALUE'),
    bad('accepted: one slot twice in revoked', { t: 'accepted', grant: fill(0x11), revoked: ['a', 'a'] }, 'DECODE_VALUE'),
    bad('accepted: 65 revoked slots', { t: 'accepted', grant: fill(0x11), revoked: Array.from({ length: 65 }, (_, i) => `s${i}`) }, 'DECODE_LENGTH'),
    bad('announce: action "revoke" (revocation has its own message)', { t: 'announce', action: 'revoke', board: 'virtual', cat: [], grant: B('00'), dropped: {}, digests: { cat: fill(0) } }, 'DECODE_VALUE'),
    bad(
      'announce: one slot twice in the catalogue',
      { t: 'announce', action: 'new', board: 'virtual', cat: [{ slot: 'a', dev: 'd', kind: 'serial', drv: 'serial-line' }, { slot: 'a', dev: 'e', kind: 'serial', drv: 'serial-line' }], grant: B('00'), dropped: {}, digests: { cat: fill(0) } },
      'DECODE_VALUE',
    ),
    bad('announce: no digests', { t: 'announce', action: 'new', board: 'virtual', cat: [], grant: B('00'), dropped: {} }, 'DECODE_TYPE'),
    bad('readings: w above 2^32 - 1', { t: 'readings', w: 2 ** 32, rows: [] }, 'DECODE_VALUE'),
    bad('readings: a row of six items', { t: 'readings', w: 1, rows: [(okRow as Json[]).slice(0, 6)] }, 'DECODE_VALUE'),
    bad('readings: a row with an empty value', { t: 'readings', w: 1, rows: [['rs485-1', 'th-bus-1', 'modbus', 4, 1, T_MS, B('')]] }, 'DECODE_LENGTH'),
    bad('readings: a row with an empty slot', { t: 'readings', w: 1, rows: [['', 'th-bus-1', 'modbus', 4, 1, T_MS, B('a0')]] }, 'DECODE_VALUE'),
    bad('range: done as 1, not a boolean', { t: 'range', id: 1, rows: [], done: 1 }, 'DECODE_TYPE'),
    bad('request: first after last', { t: 'request', id: 1, slot: 'rs485-1', epoch: 4, first: 9, last: 4 }, 'DECODE_VALUE'),
    bad('fresh: what "os"', { t: 'fresh', what: 'os', digest: fill(0xca), at_ms: 0 }, 'DECODE_VALUE'),
    bad('revoke: an empty envelope', { t: 'revoke', rev: B('') }, 'DECODE_LENGTH'),
    bad('refused: an empty code', { t: 'refused', code: '' }, 'DECODE_VALUE'),
  ];
  const hil: { name: string; message: Json }[] = [
    { name: 'open: tail from (epoch 4, seq 18) of the reading log', message: { t: 'open', slot: 'rs485-1', mode: 'tail', from_epoch: 4, from_seq: 18 } },
    { name: 'refused HISTORY_UNAVAILABLE: a gateway without a reading log to resume from', message: { t: 'refused', code: 'HISTORY_UNAVAILABLE' } },
  ];
  return {
    source:
      'generated by test/hil/publish-messages.test.ts with UPDATE_VECTORS=1: each hex written from its JSON by a CBOR writer of its own (RFC 8949 §4.2.1), not by src/; the envelopes inside are those of test/vectors/publish.json. See docs/PROFILE.md §Publishing. Byte strings are {"hex": ...}.',
    description:
      'The publish channel of issue #12 (OI draft §11): every message a gateway (Publisher) and a collector (Indexer) exchange, as the wire map (message) and its bytes (hex); readings and range also give each row value decoded (values). bad_messages: messages every receiver refuses, with the decoding error code. hil_messages, hil_bad_messages: the HIL open that resumes a tail from the reading log (docs/PROFILE.md §HIL protocol).',
    messages: messages.map((m) => ({ ...m, hex: hexOf(m.message) })),
    bad_messages,
    hil_messages: hil.map((m) => ({ ...m, hex: hexOf(m.message) })),
    hil_bad_messages: [
      bad('open: from_seq without from_epoch', { t: 'open', slot: 'rs485-1', mode: 'tail', from_seq: 18 }, 'DECODE_VALUE'),
      bad('open: from_epoch and from_seq on a modbus channel', { t: 'open', slot: 'rs485-1', mode: 'modbus', from_epoch: 4, from_seq: 18 }, 'DECODE_VALUE'),
      bad('open: from_epoch above 2^32 - 1', { t: 'open', slot: 'rs485-1', mode: 'tail', from_epoch: 2 ** 32, from_seq: 0 }, 'DECODE_VALUE'),
    ],
  };
}

if (process.env.UPDATE_VECTORS === '1') writeFileSync(FILE, JSON.stringify(generate(), null, 2) + '\n');
const file = existsSync(FILE) ? (JSON.parse(readFileSync(FILE, 'utf8')) as Vectors) : undefined;
const V = (): Vectors => {
  expect(file, 'run UPDATE_VECTORS=1 with test/hil/publish-messages.test.ts once').toBeDefined();
  return file!;
};

// ---- what a wire map means, written out by hand (the decoder's mapping checked, not copied) ----

type W = { [k: string]: Json };
const bytes = (v: Json): Uint8Array => fromHex((v as { hex: string }).hex);
const rowOf = (r: Json): WireReading => {
  const [slot, device, kind, epoch, seq, ts, value] = r as [string, string, string, number, number, number, Json];
  return { slot, device, kind, epoch, seq, ts, value: bytes(value) };
};

function meaning(j: Json): PublishMessage {
  const m = j as W;
  switch (m.t) {
    case 'announce': {
      const d = m.digests as W;
      return {
        t: 'announce',
        action: m.action as 'new' | 'refresh',
        ...(m.name !== undefined ? { name: m.name as string } : {}),
        board: m.board as string,
        catalogue: (m.cat as W[]).map((e) => ({
          slot: e.slot as string,
          device: e.dev as string,
          kind: e.kind as string,
          driver: e.drv as string,
          ...(e.regs !== undefined ? { registers: (e.regs as W[]).map((r) => ({ name: r.n as string, ...(r.u !== undefined ? { unit: r.u as string } : {}) })) } : {}),
        })),
        grant: bytes(m.grant!),
        dropped: m.dropped as Record<string, number>,
        digests: { catalogue: bytes(d.cat!), ...(d.cfg !== undefined ? { config: bytes(d.cfg) } : {}), ...(d.fw !== undefined ? { firmware: bytes(d.fw) } : {}) },
      };
    }
    case 'readings':
      return { t: 'readings', w: m.w as number, rows: (m.rows as Json[]).map(rowOf) };
    case 'range':
      return { t: 'range', id: m.id as number, rows: (m.rows as Json[]).map(rowOf), done: m.done as boolean };
    case 'fresh':
      return { t: 'fresh', what: m.what as 'catalogue', digest: bytes(m.digest!), at_ms: m.at_ms as number };
    case 'revoke':
      return { t: 'revoke', rev: bytes(m.rev!) };
    case 'accepted':
      return { t: 'accepted', grant: bytes(m.grant!), ...(m.revoked !== undefined ? { revoked: m.revoked as string[] } : {}) };
    case 'refused':
      return { t: 'refused', code: m.code as string };
    case 'receipt':
      return { t: 'receipt', w: m.w as number, rc: bytes(m.rc!) };
    case 'request':
      return { t: 'request', id: m.id as number, slot: m.slot as string, epoch: m.epoch as number, first: m.first as number, last: m.last as number };
    case 'revoked':
      return { t: 'revoked', rev: bytes(m.rev!), rc: bytes(m.rc!) };
    default:
      throw new Error(`no such message ${String(m.t)}`);
  }
}

const byType = (t: string): MessageVector[] => V().messages.filter((m) => (m.message as W).t === t);
const one = <T extends PublishMessage['t']>(t: T, i = 0): Extract<PublishMessage, { t: T }> => decodePublish(fromHex(byType(t)[i]!.hex)) as Extract<PublishMessage, { t: T }>;

describe('publish vectors (test/vectors/publish-messages.json)', () => {
  it('the file is what the generator writes (UPDATE_VECTORS=1 rewrites it)', () => {
    expect(generate()).toEqual(V());
  });

  it('every message type, each direction; the bad ones cover every decoding error code', () => {
    const types = V().messages.map((m) => (m.message as W).t);
    expect(new Set(types)).toEqual(new Set(['announce', 'readings', 'range', 'fresh', 'revoke', 'accepted', 'refused', 'receipt', 'request', 'revoked']));
    for (const m of V().messages) expect(['accepted', 'refused', 'receipt', 'request', 'revoked'].includes((m.message as W).t as string), m.name).toBe(m.direction === 'collector -> gateway');
    expect(new Set(V().bad_messages.map((b) => b.code))).toEqual(new Set(['DECODE_TYPE', 'DECODE_VALUE', 'DECODE_LENGTH', 'CBOR_INVALID', 'CBOR_NON_CANONICAL']));
  });

  it.each(file?.messages ?? [])('$name: decodes to what its wire map means and encodes to the same bytes', (v) => {
    const m = meaning(v.message);
    expect(decodePublish(fromHex(v.hex))).toEqual(m);
    expect(toHex(encodePublish(m))).toBe(v.hex);
    // The same map through our canonical CBOR: the writer above and src agree on every byte.
    expect(toHex(encodeCanonical(decodeCanonical(fromHex(v.hex))))).toBe(v.hex);
  });

  it.each(file?.messages.filter((m) => m.values !== undefined) ?? [])('$name: each row value is the reading value of §HIL (numbers per §HIL "Numbers")', (v) => {
    const rows = (v.message as W).rows as Json[];
    expect(rows.map((r) => decodeCanonical(bytes((r as Json[])[6]!), 16, { floats: true }))).toEqual(v.values);
  });

  it.each(file?.bad_messages ?? [])('refused: $name -> $code', (v) => {
    expect(() => decodePublish(fromHex(v.hex))).toThrow(expect.objectContaining({ code: v.code }));
    expect(() => decodePublish(fromHex(v.hex))).toThrow(DecodeError);
  });

  it('the vectors hang together: grant, receipt, catalogue digest, revocation (with test/vectors/publish.json)', () => {
    const peer = (w: 'gateway' | 'collector') => ({ cid: fromHex(ARTEFACTS.identities[w].cid), publicKey: fromHex(ARTEFACTS.identities[w].public) });
    const announce = one('announce');
    const grant = openArtefact(nodeProvider, announce.grant, 'discovery-grant');
    expect(grant.issuer).toEqual(peer('gateway').cid);
    expect(one('accepted').grant).toEqual(grant.objectId);
    // The catalogue names the grant's slots; its digest is BLAKE3-256 of the canonical `cat` array (src's encodeCatalogue).
    expect(announce.catalogue.map((e) => e.slot)).toEqual(grant.body.scope.map((s) => s.slot));
    expect(announce.digests.catalogue).toEqual(nodeProvider.blake3(encodeCatalogue(announce.catalogue), 32));
    // The receipt answers window 1 for that grant and covers every reading of it: the cursor may move.
    const w = one('readings');
    const r = one('receipt');
    expect(r.w).toBe(w.w);
    const rc = validateReceipt(nodeProvider, r.rc, { indexer: peer('collector'), publisher: peer('gateway').cid, grantId: grant.objectId });
    expect(rc.body.kind).toBe('accept');
    expect(covers(rc.body.ranges, w.rows)).toBe(true);
    // The request asks for what the range answers; the revocation and its confirmation name each other.
    const [req, range] = [one('request'), one('range')];
    expect(range.id).toBe(req.id);
    expect(range.rows.every((x) => x.slot === req.slot && x.epoch === req.epoch && x.seq >= req.first && x.seq <= req.last)).toBe(true);
    const rev = validateDiscoveryRevocation(nodeProvider, one('revoke').rev, { publisher: peer('gateway'), indexer: peer('collector').cid });
    const done = one('revoked');
    expect(done.rev).toEqual(rev.objectId);
    expect(validateReceipt(nodeProvider, done.rc, { indexer: peer('collector'), publisher: peer('gateway').cid, grantId: grant.objectId }).body).toMatchObject({ kind: 'revoke', scope: rev.body.scope });
  });

  it.each(file?.hil_messages ?? [])('HIL $name: decodes to its map and encodes to the same bytes', (v) => {
    expect(decodeHil(fromHex(v.hex))).toEqual(v.message);
    expect(toHex(encodeHil(v.message as unknown as HilMessage))).toBe(v.hex);
  });

  it.each(file?.hil_bad_messages ?? [])('HIL refused: $name -> $code', (v) => {
    expect(() => decodeHil(fromHex(v.hex))).toThrow(expect.objectContaining({ code: v.code }));
  });

  it('docs/PROFILE.md shows the bytes of the accepted, request and receipt vectors (§Publishing) and of the resuming open (§HIL)', () => {
    const section = PROFILE.slice(PROFILE.indexOf('## Publishing'));
    expect(section.length).toBeLessThan(PROFILE.length);
    const flat = section.replace(/\s+/g, '');
    for (const t of ['accepted', 'request']) expect(flat, t).toContain(byType(t)[0]!.hex);
    // The receipt message up to its envelope: the doc shows the framing, the envelope is in publish.json.
    expect(flat).toContain(byType('receipt')[0]!.hex.slice(0, 24));
    // §HIL "Resuming a tail" shows the open that resumes.
    expect(PROFILE.replace(/\s+/g, '')).toContain(V().hil_messages[0]!.hex);
  });
});

// ---- properties ----

const id = fc.string({ minLength: 1, maxLength: 64 });
const u32 = fc.nat({ max: 0xffff_ffff });
const uint = fc.maxSafeNat();
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const envelope = fc.uint8Array({ minLength: 1, maxLength: 300 });
// ts at most MAX_TS_MS (the Date range); above it the decoder refuses (test/collector/ts-range.test.ts).
const rowArb: fc.Arbitrary<WireReading> = fc.record({ slot: id, device: id, kind: id, epoch: u32, seq: uint, ts: fc.integer({ min: 0, max: MAX_TS_MS }), value: fc.uint8Array({ minLength: 1, maxLength: 64 }) });
const rowsArb = fc.array(rowArb, { maxLength: 6 });
const entryArb: fc.Arbitrary<CatalogueEntry> = fc.record(
  {
    slot: id,
    device: id,
    kind: id,
    driver: id,
    // An empty register list is not sent (the key is left out), so it cannot come back as [].
    registers: fc.array(fc.record({ name: id, unit: fc.string({ maxLength: 32 }) }, { requiredKeys: ['name'] }), { minLength: 1, maxLength: 4 }),
  },
  { requiredKeys: ['slot', 'device', 'kind', 'driver'] },
);
// Slots with no dropped reading are not sent (zero counts left out); "__proto__" is no slot id.
const droppedArb = fc.dictionary(id.filter((k) => k !== '__proto__'), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), { maxKeys: 4 }).map((o) => ({ ...o }));

const ARBS: { readonly [T in PublishMessage['t']]: fc.Arbitrary<Extract<PublishMessage, { t: T }>> } = {
  announce: fc.record(
    {
      t: fc.constant('announce' as const),
      action: fc.constantFrom(...ANNOUNCE_ACTIONS),
      name: fc.string({ maxLength: 64 }),
      board: id,
      catalogue: fc.uniqueArray(entryArb, { maxLength: 4, selector: (e) => e.slot }),
      grant: envelope,
      dropped: droppedArb,
      digests: fc.record({ catalogue: bytes32, config: bytes32, firmware: bytes32 }, { requiredKeys: ['catalogue'] }),
    },
    { requiredKeys: ['t', 'action', 'board', 'catalogue', 'grant', 'dropped', 'digests'] },
  ),
  readings: fc.record({ t: fc.constant('readings' as const), w: u32, rows: rowsArb }),
  range: fc.record({ t: fc.constant('range' as const), id: u32, rows: rowsArb, done: fc.boolean() }),
  fresh: fc.record({ t: fc.constant('fresh' as const), what: fc.constantFrom(...FRESH_WHAT), digest: bytes32, at_ms: uint }),
  revoke: fc.record({ t: fc.constant('revoke' as const), rev: envelope }),
  accepted: fc.record({ t: fc.constant('accepted' as const), grant: bytes32 }),
  refused: fc.record({ t: fc.constant('refused' as const), code: id }),
  receipt: fc.record({ t: fc.constant('receipt' as const), w: u32, rc: envelope }),
  request: fc
    .record({ t: fc.constant('request' as const), id: u32, slot: id, epoch: u32, a: uint, b: uint })
    .map(({ a, b, ...r }) => ({ ...r, first: Math.min(a, b), last: Math.max(a, b) })),
  revoked: fc.record({ t: fc.constant('revoked' as const), rev: bytes32, rc: envelope }),
};
const TYPES = Object.keys(ARBS) as PublishMessage['t'][];
const anyMessage: fc.Arbitrary<PublishMessage> = fc.oneof(...TYPES.map((t) => ARBS[t] as fc.Arbitrary<PublishMessage>));

describe('publish messages: round trips (property)', () => {
  it.each(TYPES)('%s: decode(encode(m)) = m, and encode(decode(bytes)) = bytes', (t) => {
    fc.assert(
      fc.property(ARBS[t] as fc.Arbitrary<PublishMessage>, (m) => {
        const b = encodePublish(m);
        const back = decodePublish(b);
        expect(back).toEqual(m);
        expect(toHex(encodePublish(back))).toBe(toHex(b));
      }),
      { numRuns: 300 },
    );
  });
});

describe('publish messages: the hand-written windows', () => {
  // readings and range are written by a hand CBOR writer (src/uzp/cbor-writer.ts): the bytes must be
  // exactly the generic deterministic encoder's, for any rows (lengths across every head size,
  // non-ASCII ids, integers past 2^32).
  const wideRow: fc.Arbitrary<WireReading> = fc.record({
    slot: fc.string({ minLength: 1, maxLength: 64, unit: 'grapheme' }),
    device: fc.string({ minLength: 1, maxLength: 64, unit: 'binary' }),
    kind: id,
    epoch: u32,
    seq: fc.oneof(uint, fc.constantFrom(23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32)),
    ts: uint,
    value: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 30 }), fc.uint8Array({ minLength: 250, maxLength: 300 }), fc.uint8Array({ minLength: 65_530, maxLength: 65_540 })),
  });
  const smallRow = wideRow.map((r) => ({ ...r, value: r.value.subarray(0, 300) }));
  const generic = (rows: readonly WireReading[]): CborValue[] => rows.map((r) => [r.slot, r.device, r.kind, r.epoch, r.seq, r.ts, r.value]);
  it('equal encodeCanonical of the same map, byte for byte', () => {
    fc.assert(
      fc.property(fc.array(wideRow, { maxLength: 30 }), u32, fc.boolean(), (rows, n, done) => {
        expect(toHex(encodePublish({ t: 'readings', w: n, rows }))).toBe(toHex(encodeCanonical({ t: 'readings', w: n, rows: generic(rows) })));
        expect(toHex(encodePublish({ t: 'range', id: n, rows, done }))).toBe(toHex(encodeCanonical({ t: 'range', id: n, rows: generic(rows), done })));
      }),
      { numRuns: 200 },
    );
  });

  // readings and range are also read by a strict hand reader (src/uzp/cbor-reader.ts) before the
  // generic decoder. Whatever decodePublish takes as one of them must be the canonical encoding of
  // what it returned — the bytes the generic decoder, and only it, accepts for that value — so the
  // hand reader can never take a byte string the generic decoder refuses, nor read it differently.
  const asGeneric = (m: PublishMessage): CborValue =>
    m.t === 'readings' ? { t: m.t, w: m.w, rows: generic(m.rows) } : m.t === 'range' ? { t: m.t, id: m.id, rows: generic(m.rows), done: m.done } : null;
  const takenOnlyCanonical = (b: Uint8Array): void => {
    let m: PublishMessage;
    try {
      m = decodePublish(b);
    } catch (e) {
      expect(e).toBeInstanceOf(DecodeError);
      return;
    }
    if (m.t === 'readings' || m.t === 'range') expect(toHex(encodeCanonical(asGeneric(m)))).toBe(toHex(b));
  };
  it('take only canonical bytes: 4,000 mutations of windows, BOM and invalid UTF-8 in ids, long heads', () => {
    const bases = [
      ...fc.sample(fc.array(smallRow, { minLength: 1, maxLength: 4 }), 20).map((rows) => encodePublish({ t: 'readings', w: 7, rows })),
      ...fc.sample(fc.array(smallRow, { minLength: 1, maxLength: 4 }), 20).map((rows) => encodePublish({ t: 'range', id: 300, rows, done: false })),
    ];
    fc.assert(fc.property(mutatedArb(bases), takenOnlyCanonical), { numRuns: 4000 });
    const one = (slot: Uint8Array): Uint8Array => {
      const b = encodePublish({ t: 'readings', w: 1, rows: [{ ...row0, slot: 'x'.repeat(slot.length) }] });
      const at = Buffer.from(b).indexOf(Buffer.from('x'.repeat(slot.length)));
      b.set(slot, at);
      return b;
    };
    // A leading BOM is text (kept, as cborg keeps it); invalid UTF-8 and an overlong form are refused.
    expect((decodePublish(one(Uint8Array.of(0xef, 0xbb, 0xbf, 0x41))) as Extract<PublishMessage, { t: 'readings' }>).rows[0]!.slot).toBe('\ufeffA');
    for (const bad of [Uint8Array.of(0xff, 0x41), Uint8Array.of(0xc0, 0x81), Uint8Array.of(0xed, 0xa0, 0x80)]) expect(refused(one(bad))).not.toBe('ok');
    // w = 5 written with a one-byte head (0x18 0x05) is not the shortest form.
    const w5 = encodePublish({ t: 'readings', w: 5, rows: [row0] });
    const i = Buffer.from(w5).indexOf(Buffer.from([0x61, 0x77, 0x05])) + 2;
    expect(refused(Uint8Array.from([...w5.subarray(0, i), 0x18, 0x05, ...w5.subarray(i + 1)]))).toMatch(/^CBOR_/);
  });
});

// ---- junk ----

/** 'ok', or the DecodeError's code; any other exception fails the test. */
function outcome(b: Uint8Array): string {
  try {
    decodePublish(b);
    return 'ok';
  } catch (e) {
    if (!(e instanceof DecodeError)) throw new Error(`not a DecodeError: ${e instanceof CodedError ? e.code : String(e)}`, { cause: e });
    return e.code;
  }
}
const CODES = new Set(['DECODE_TYPE', 'DECODE_VALUE', 'DECODE_LENGTH', 'DECODE_TRUNCATED', 'DECODE_TRAILING', 'CBOR_INVALID', 'CBOR_NON_CANONICAL']);
const refused = (b: Uint8Array): string => {
  const c = outcome(b);
  expect(CODES.has(c), `outcome ${c}`).toBe(true);
  return c;
};
/** The message as its wire map, changed by `f`, encoded canonically again. */
function edited(m: PublishMessage, f: (w: CborMap) => void): Uint8Array {
  const w = decodeCanonical(encodePublish(m)) as CborMap;
  f(w);
  return encodeCanonical(w);
}
const sample = <T>(a: fc.Arbitrary<T>): T => fc.sample(a, { numRuns: 1, seed: 7 })[0]!;
const row0: WireReading = { slot: 's', device: 'd', kind: 'modbus', epoch: 1, seq: 1, ts: 1, value: Uint8Array.of(0xa0) };
/** A minimal valid message of each type (no optional field): the bound tests start from these. */
const MIN: { readonly [T in PublishMessage['t']]: Extract<PublishMessage, { t: T }> } = {
  announce: { t: 'announce', action: 'new', board: 'b', catalogue: [], grant: Uint8Array.of(1), dropped: {}, digests: { catalogue: new Uint8Array(32) } },
  readings: { t: 'readings', w: 1, rows: [row0] },
  range: { t: 'range', id: 1, rows: [row0], done: true },
  fresh: { t: 'fresh', what: 'config', digest: new Uint8Array(32), at_ms: 0 },
  revoke: { t: 'revoke', rev: Uint8Array.of(1) },
  accepted: { t: 'accepted', grant: new Uint8Array(32) },
  refused: { t: 'refused', code: 'X' },
  receipt: { t: 'receipt', w: 1, rc: Uint8Array.of(1) },
  request: { t: 'request', id: 1, slot: 's', epoch: 1, first: 1, last: 1 },
  revoked: { t: 'revoked', rev: new Uint8Array(32), rc: Uint8Array.of(1) },
};

describe('publish messages: junk is a DecodeError, never another exception', () => {
  it('5,000 random byte strings', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        // A random string that happens to be a valid message is fine; anything thrown must be a DecodeError.
        outcome(b);
      }),
      { numRuns: 5000 },
    );
  });

  it('every proper prefix of every vector', () => {
    for (const v of V().messages) {
      const b = fromHex(v.hex);
      for (let n = 0; n < b.length; n++) expect(refused(b.subarray(0, n)), `${v.name} cut at ${n}`).not.toBe('ok');
    }
  });

  it('5,000 mutations of valid messages (flips, inserts, deletes, truncations)', () => {
    const bases = [...V().messages.map((v) => fromHex(v.hex)), ...TYPES.map((t) => encodePublish(sample(ARBS[t] as fc.Arbitrary<PublishMessage>)))];
    fc.assert(fc.property(mutatedArb(bases), (b) => void outcome(b)), { numRuns: 5000 });
  });

  it('3,000 structured messages built from the messages’ own keys', () => {
    const keys = ['t', 'action', 'name', 'board', 'cat', 'grant', 'dropped', 'digests', 'slot', 'dev', 'kind', 'drv', 'regs', 'n', 'u', 'cfg', 'fw', 'w', 'rows', 'id', 'done', 'what', 'digest', 'at_ms', 'rev', 'code', 'rc', 'epoch', 'first', 'last'];
    // fast-check may build null-prototype objects; the encoder takes plain ones.
    const plain = (v: CborValue): CborValue =>
      Array.isArray(v) ? v.map(plain) : v !== null && typeof v === 'object' && !(v instanceof Uint8Array) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) : v;
    const junk = fc.tuple(fc.constantFrom(...TYPES), fc.dictionary(fc.constantFrom(...keys), cborArb(keys), { maxKeys: 8 })).map(([t, m]) => encodeCanonical(plain({ ...m, t })));
    const seen = new Map<string, number>();
    fc.assert(
      fc.property(junk, (b) => {
        const c = outcome(b);
        seen.set(c, (seen.get(c) ?? 0) + 1);
      }),
      { numRuns: 3000 },
    );
    // The junk reached the field checks, not only the CBOR layer.
    expect(seen.get('DECODE_TYPE') ?? 0).toBeGreaterThan(0);
    expect(seen.get('DECODE_VALUE') ?? 0).toBeGreaterThan(0);
  });

  it('an extra key anywhere in a closed map is DECODE_VALUE (every type, and the nested maps)', () => {
    fc.assert(
      fc.property(anyMessage, fc.stringMatching(/^[a-z_]{1,8}$/), fc.oneof(fc.nat(), fc.string({ maxLength: 4 })), (m, k, x) => {
        const known = Object.keys(decodeCanonical(encodePublish(m)) as CborMap);
        // A key the type allows but this message omits is not extra (announce's optional `name`).
        fc.pre(!known.includes(k) && !(m.t === 'announce' && k === 'name'));
        expect(refused(edited(m, (w) => void (w[k] = x)))).toBe('DECODE_VALUE');
      }),
      { numRuns: 1000 },
    );
    const a: PublishMessage = { ...MIN.announce, catalogue: [{ slot: 's', device: 'd', kind: 'k', driver: 'r', registers: [{ name: 'n' }] }] };
    expect(refused(edited(a, (w) => void ((w.digests as CborMap).sha = 1)))).toBe('DECODE_VALUE');
    expect(refused(edited(a, (w) => void (((w.cat as CborMap[])[0]!).x = 1)))).toBe('DECODE_VALUE');
    expect(refused(edited(a, (w) => void ((((w.cat as CborMap[])[0]!).regs as CborMap[])[0]!.x = 1)))).toBe('DECODE_VALUE');
  });

  it('a field of the wrong type (or missing) is refused with a field code, for every field of every type', () => {
    const pool: CborValue[] = [7, 'x', Uint8Array.of(1), [], {}, true, null];
    const kind = (v: CborValue | undefined): string => (v === null ? 'null' : v instanceof Uint8Array ? 'bytes' : Array.isArray(v) ? 'array' : typeof v);
    for (const t of TYPES) {
      const m = MIN[t];
      const fields = Object.keys(decodeCanonical(encodePublish(m)) as CborMap);
      for (const f of fields) {
        const original = (decodeCanonical(encodePublish(m)) as CborMap)[f];
        for (const x of pool.filter((p) => kind(p) !== kind(original))) {
          expect(refused(edited(m, (w) => void (w[f] = x))), `${t}.${f} = ${kind(x)}`).toMatch(/^DECODE_(TYPE|VALUE|LENGTH)$/);
        }
        // Every field is required (the minimal messages hold no optional one).
        expect(refused(edited(m, (w) => void delete w[f])), `${t} without ${f}`).toMatch(/^DECODE_(TYPE|VALUE)$/);
      }
    }
  });

  it('lists and values over their bounds are refused; at the bound they are taken', () => {
    const at = (m: PublishMessage): void => expect(outcome(encodePublish(m))).toBe('ok');
    const over = (m: PublishMessage, code: string): void => expect(refused(encodePublish(m))).toBe(code);
    const rows = (n: number): WireReading[] => Array.from({ length: n }, (_, i) => ({ ...row0, seq: i }));
    at({ t: 'readings', w: 1, rows: rows(MAX_WINDOW_ROWS) });
    over({ t: 'readings', w: 1, rows: rows(MAX_WINDOW_ROWS + 1) }, 'DECODE_LENGTH');
    over({ t: 'range', id: 1, rows: rows(MAX_WINDOW_ROWS + 1), done: false }, 'DECODE_LENGTH');
    const value = (n: number): WireReading[] => [{ ...row0, value: new Uint8Array(n) }];
    at({ t: 'readings', w: 1, rows: value(MAX_READING_VALUE) });
    over({ t: 'readings', w: 1, rows: value(MAX_READING_VALUE + 1) }, 'DECODE_LENGTH');
    at({ t: 'revoke', rev: new Uint8Array(65_536) });
    over({ t: 'revoke', rev: new Uint8Array(65_537) }, 'DECODE_LENGTH');
    over({ t: 'receipt', w: 1, rc: new Uint8Array(65_537) }, 'DECODE_LENGTH');
    over({ t: 'revoked', rev: new Uint8Array(32), rc: new Uint8Array(65_537) }, 'DECODE_LENGTH');
    over({ ...MIN.announce, grant: new Uint8Array(65_537) }, 'DECODE_LENGTH');
    over({ t: 'revoked', rev: new Uint8Array(33), rc: Uint8Array.of(1) }, 'DECODE_LENGTH');
    over({ t: 'fresh', what: 'config', digest: new Uint8Array(31), at_ms: 0 }, 'DECODE_LENGTH');
    // Ids: 1..64 characters.
    at({ t: 'request', id: 1, slot: 's'.repeat(64), epoch: 1, first: 1, last: 1 });
    over({ t: 'request', id: 1, slot: 's'.repeat(65), epoch: 1, first: 1, last: 1 }, 'DECODE_LENGTH');
    over({ t: 'readings', w: 1, rows: [{ ...row0, device: 'd'.repeat(65) }] }, 'DECODE_LENGTH');
    over({ t: 'refused', code: 'C'.repeat(65) }, 'DECODE_LENGTH');
    over({ ...MIN.announce, name: 'n'.repeat(65) }, 'DECODE_LENGTH');
    over({ ...MIN.announce, board: 'b'.repeat(65) }, 'DECODE_LENGTH');
    // Catalogue: 64 slots, 256 registers, unit text up to 32.
    const entry = (i: number): CatalogueEntry => ({ slot: `s${i}`, device: 'd', kind: 'k', driver: 'r' });
    at({ ...MIN.announce, catalogue: Array.from({ length: 64 }, (_, i) => entry(i)) });
    over({ ...MIN.announce, catalogue: Array.from({ length: 65 }, (_, i) => entry(i)) }, 'DECODE_LENGTH');
    const regs = (n: number, unit = 'u'): CatalogueEntry[] => [{ ...entry(0), registers: Array.from({ length: n }, (_, i) => ({ name: `r${i}`, unit })) }];
    at({ ...MIN.announce, catalogue: regs(256, 'u'.repeat(32)) });
    over({ ...MIN.announce, catalogue: regs(257) }, 'DECODE_LENGTH');
    over({ ...MIN.announce, catalogue: regs(1, 'u'.repeat(33)) }, 'DECODE_LENGTH');
    const dropped = (n: number): Record<string, number> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`s${i}`, 1]));
    at({ ...MIN.announce, dropped: dropped(64) });
    over({ ...MIN.announce, dropped: dropped(65) }, 'DECODE_LENGTH');
    // u32 fields stop at 2^32 - 1.
    at({ t: 'receipt', w: 0xffff_ffff, rc: Uint8Array.of(1) });
    over({ t: 'receipt', w: 2 ** 32, rc: Uint8Array.of(1) }, 'DECODE_VALUE');
    over({ t: 'range', id: 2 ** 32, rows: [], done: true }, 'DECODE_VALUE');
    over({ t: 'request', id: 1, slot: 's', epoch: 2 ** 32, first: 1, last: 1 }, 'DECODE_VALUE');
    over({ t: 'readings', w: 1, rows: [{ ...row0, epoch: 2 ** 32 }] }, 'DECODE_VALUE');
    // The type name is short text.
    expect(refused(encodeCanonical({ t: 'x'.repeat(17) }))).toBe('DECODE_LENGTH');
  });

  it('integers beyond 2^53 - 1, negative integers, floats and deep nesting are refused by the CBOR layer or the field', () => {
    const at = Uint8Array.from([0xa4, ...cbor('t'), ...cbor('fresh'), ...cbor('what'), ...cbor('config'), ...cbor('at_ms')]);
    const digest = Uint8Array.from([...cbor('digest'), ...cbor(B('00'.repeat(32)))]);
    const fresh = (n: number[]): Uint8Array => Uint8Array.from([...at, ...n, ...digest]);
    expect(outcome(fresh(head(0, 2 ** 53 - 1)))).toBe('ok');
    expect(refused(fresh(head(0, 2 ** 53)))).toBe('CBOR_INVALID');
    expect(refused(fresh([0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toBe('CBOR_INVALID');
    expect(refused(fresh(head(1, 0)))).toBe('DECODE_TYPE'); // -1
    expect(refused(fresh([0xfb, 0x40, 0x35, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66]))).toBe('CBOR_INVALID'); // 21.4
    expect(refused(fresh([0xf9, 0x7e, 0x00]))).toBe('CBOR_INVALID'); // NaN
    let deep: CborValue = [];
    for (let i = 0; i < 12; i++) deep = [deep];
    expect(refused(encodeCanonical({ t: 'fresh', x: deep }))).toBe('CBOR_INVALID');
    expect(refused(Uint8Array.of(0xa1, 0x61, 0x74, 0x7f, 0x61, 0x61, 0xff))).toBe('CBOR_INVALID'); // indefinite text
    expect(refused(Uint8Array.from([...encodePublish(MIN.accepted), 0x00]))).toBe('CBOR_INVALID'); // trailing byte
  });
});
