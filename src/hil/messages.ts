// HIL application protocol: what operator and gateway say on a session channel (docs/PROFILE.md
// §HIL protocol). Each channel message is one deterministic-CBOR map with a type `t`. The operator
// opens a channel per (slot, mode) with OPEN; the gateway answers OPENED or REFUSED and from then
// on the channel carries only that mode's messages. Refusal codes are the authority's stable codes;
// the detail goes to the gateway's audit log, not to the wire.

import { asArray, asBool, asBytes, asMap, asText, asUint, decodeCanonical, encodeCanonical, onlyKeys, type CborMap, type CborValue } from '../uzp/cbor.js';
import { CborWriter } from '../uzp/cbor-writer.js';
import { CommonCode, DecodeError } from '../lib/errors.js';
import { MAX_PDU, TCP_MAX_UNIT } from '../ports/modbus/vocabulary.js';
import { decodeDiagReport, diagReportValue, type DiagReport } from './diag-report.js';

export const MODES = ['tail', 'modbus', 'serial', 'mqtt', 'diag'] as const;
export type Mode = (typeof MODES)[number];

export const KINDS = ['modbus', 'serial', 'mqtt'] as const;
export type ReadingKind = (typeof KINDS)[number];

/** Readings carry physical quantities: finite floats allowed (shortest form); artefacts stay integer-only. */
const HIL_CBOR = { floats: true } as const;

const MAX_ID = 64; // slot and device ids
const MAX_CODE = 64;
const MAX_TOPIC = 1024;
const MAX_BYTES = 1024 * 1024;
/** An evidence artefact is an envelope: never more than the envelope bound (MAX_ENVELOPE_BYTES). */
const MAX_EVIDENCE = 64 * 1024;

export type HilMessage =
  // operator -> gateway
  /** `from_epoch`/`from_seq` (tail only, both or neither): resume from that reading of the gateway's log instead of live. */
  | { t: 'open'; slot: string; mode: Mode; from_epoch?: number; from_seq?: number }
  | { t: 'req'; id: number; unit: number; pdu: Uint8Array }
  | { t: 'data'; d: Uint8Array }
  | { t: 'sub'; filter: string }
  | { t: 'pub'; id: number; topic: string; payload: Uint8Array; qos: 0 | 1; retain: boolean }
  /** Asks for the gateway's evidence for this nonce, bound to this session (docs/PROFILE.md §Attestation). */
  | { t: 'attest'; nonce: Uint8Array }
  /** diag mode: asks for the slot's per-slave diagnostics now; answered by `diag` with the same id. */
  | { t: 'diagq'; id: number }
  // gateway -> operator
  /** Evidence artefact (object_type "attestation"); the gateway closes the channel after it. */
  | { t: 'evidence'; e: Uint8Array }
  | { t: 'opened'; slot: string; device: string; driver: string; mode: Mode; purposes: string[] }
  /** `bridged`: with TOPIC_NOT_BRIDGED, the filters the slot's bridge does carry (subscribe or publish side). */
  | { t: 'refused'; code: string; id?: number; filter?: string; bridged?: string[] }
  | { t: 'res'; id: number; pdu: Uint8Array; refused?: string }
  /** `epoch`: the gateway's boot epoch, one higher per start; (epoch, seq) never goes backwards. Absent from version-1 gateways. */
  | { t: 'reading'; slot: string; device: string; kind: ReadingKind; seq: number; ts: number; value: CborValue; epoch?: number }
  | { t: 'suback'; filter: string }
  | { t: 'puback'; id: number }
  | { t: 'msg'; topic: string; payload: Uint8Array }
  | { t: 'diag'; id: number; d: DiagReport };

export function encodeHil(m: HilMessage): Uint8Array {
  // A Modbus request and its answer, the messages of every tunneled read, are written by hand in
  // §4.2.1 key order (t, id, pdu, then unit or refused: shorter encoded keys first); so are the
  // refusals, the gateway's answer to whatever an operator floods it with (t, id, code); the rest
  // go through encodeCanonical. test/hil/messages.test.ts holds both equal byte for byte.
  if (m.t === 'req') return new CborWriter(32 + m.pdu.length).map(4).text('t').text('req').text('id').uint(m.id).text('pdu').bytes(m.pdu).text('unit').uint(m.unit).finish();
  if (m.t === 'res') {
    const w = new CborWriter(48 + m.pdu.length).map(m.refused === undefined ? 3 : 4).text('t').text('res').text('id').uint(m.id).text('pdu').bytes(m.pdu);
    return (m.refused === undefined ? w : w.text('refused').text(m.refused)).finish();
  }
  if (m.t === 'refused' && m.filter === undefined && m.bridged === undefined) {
    const w = new CborWriter(32 + m.code.length).map(m.id === undefined ? 2 : 3).text('t').text('refused');
    return (m.id === undefined ? w : w.text('id').uint(m.id)).text('code').text(m.code).finish();
  }
  const out: CborMap = {};
  for (const [k, v] of Object.entries(m)) if (v !== undefined) out[k] = v as CborValue;
  if (m.t === 'diag') out.d = diagReportValue(m.d);
  return encodeCanonical(out, HIL_CBOR);
}

function oneOf<T extends string>(v: CborValue | undefined, what: string, allowed: readonly T[]): T {
  const s = asText(v, what, 32);
  if (!(allowed as readonly string[]).includes(s)) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}: expected one of ${allowed.join('|')}`);
  return s as T;
}

function id32(v: CborValue | undefined, what: string): number {
  const n = asUint(v, what);
  if (n > 0xffff_ffff) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}: above 2^32-1`);
  return n;
}

function bounded(v: CborValue | undefined, what: string): Uint8Array {
  const b = asBytes(v, what);
  if (b.length > MAX_BYTES) throw new DecodeError(CommonCode.DECODE_LENGTH, `${what}: more than ${MAX_BYTES} bytes`);
  return b;
}

/** Pairs in the largest HIL message (`reading`: 8); a map head says how many it has. */
const MAX_PAIRS = 23;

/**
 * Why `bytes` cannot be a HIL message, seen from its first byte (every message is a CBOR map of a
 * few pairs, RFC 8949 §3.1 major type 5 with the count in the head), or undefined when it may
 * be one. Junk answered without decodeHil's exceptions: an operator sending 1-byte junk frames
 * made each cost cborg's thrown error and ours (with their stack traces) on the gateway, most of
 * what the flood cost it (found by review; gateway/hil/channel-router.ts).
 */
export function hilFrameProblem(bytes: Uint8Array): string | undefined {
  if (bytes.length === 0) return 'hil message: empty';
  const head = bytes[0]!;
  if (head >> 5 !== 5 || (head & 0x1f) > MAX_PAIRS) return `hil message: expected a map of at most ${MAX_PAIRS} pairs, got the CBOR head 0x${head.toString(16).padStart(2, '0')}`;
  return undefined;
}

/** Decodes one channel message; throws DecodeError only. */
export function decodeHil(bytes: Uint8Array): HilMessage {
  const problem = hilFrameProblem(bytes);
  if (problem !== undefined) throw new DecodeError(CommonCode.DECODE_TYPE, problem);
  const m = asMap(decodeCanonical(bytes, 8, HIL_CBOR), 'hil message');
  const t = asText(m.t, 'hil message type', 16);
  switch (t) {
    case 'open': {
      onlyKeys(m, ['t', 'slot', 'mode', 'from_epoch', 'from_seq'], 'open');
      const out = { t, slot: asText(m.slot, 'open.slot', MAX_ID), mode: oneOf(m.mode, 'open.mode', MODES) } as const;
      if (m.from_epoch === undefined && m.from_seq === undefined) return out;
      if (m.from_epoch === undefined || m.from_seq === undefined) throw new DecodeError(CommonCode.DECODE_VALUE, 'open: from_epoch and from_seq go together');
      if (out.mode !== 'tail') throw new DecodeError(CommonCode.DECODE_VALUE, 'open: from_epoch/from_seq apply to tail only');
      return { ...out, from_epoch: id32(m.from_epoch, 'open.from_epoch'), from_seq: asUint(m.from_seq, 'open.from_seq') };
    }
    case 'req': {
      onlyKeys(m, ['t', 'id', 'unit', 'pdu'], 'req');
      const unit = asUint(m.unit, 'req.unit');
      if (unit > TCP_MAX_UNIT) throw new DecodeError(CommonCode.DECODE_VALUE, `req.unit: above ${TCP_MAX_UNIT}`);
      const pdu = asBytes(m.pdu, 'req.pdu');
      if (pdu.length < 1 || pdu.length > MAX_PDU) throw new DecodeError(CommonCode.DECODE_LENGTH, `req.pdu: 1..${MAX_PDU} bytes (Modbus PDU)`);
      return { t, id: id32(m.id, 'req.id'), unit, pdu };
    }
    case 'data':
      onlyKeys(m, ['t', 'd'], 'data');
      return { t, d: bounded(m.d, 'data.d') };
    case 'sub':
      onlyKeys(m, ['t', 'filter'], 'sub');
      return { t, filter: asText(m.filter, 'sub.filter', MAX_TOPIC) };
    case 'pub': {
      onlyKeys(m, ['t', 'id', 'topic', 'payload', 'qos', 'retain'], 'pub');
      const qos = asUint(m.qos, 'pub.qos');
      if (qos > 1) throw new DecodeError(CommonCode.DECODE_VALUE, 'pub.qos: 0 or 1');
      return { t, id: id32(m.id, 'pub.id'), topic: asText(m.topic, 'pub.topic', MAX_TOPIC), payload: bounded(m.payload, 'pub.payload'), qos: qos as 0 | 1, retain: asBool(m.retain, 'pub.retain') };
    }
    case 'attest': {
      onlyKeys(m, ['t', 'nonce'], 'attest');
      const nonce = asBytes(m.nonce, 'attest.nonce');
      if (nonce.length < 8 || nonce.length > 64) throw new DecodeError(CommonCode.DECODE_LENGTH, 'attest.nonce: 8..64 bytes');
      return { t, nonce };
    }
    case 'evidence': {
      onlyKeys(m, ['t', 'e'], 'evidence');
      const e = asBytes(m.e, 'evidence.e');
      if (e.length > MAX_EVIDENCE) throw new DecodeError(CommonCode.DECODE_LENGTH, `evidence.e: more than ${MAX_EVIDENCE} bytes`);
      return { t, e };
    }
    case 'opened':
      onlyKeys(m, ['t', 'slot', 'device', 'driver', 'mode', 'purposes'], 'opened');
      return {
        t,
        slot: asText(m.slot, 'opened.slot', MAX_ID),
        device: asText(m.device, 'opened.device', MAX_ID),
        driver: asText(m.driver, 'opened.driver', 32),
        mode: oneOf(m.mode, 'opened.mode', MODES),
        purposes: asArray(m.purposes, 'opened.purposes', 16).map((p, i) => asText(p, `opened.purposes[${i}]`, 32)),
      };
    case 'refused': {
      onlyKeys(m, ['t', 'code', 'id', 'filter', 'bridged'], 'refused');
      return {
        t,
        code: asText(m.code, 'refused.code', MAX_CODE),
        ...(m.id === undefined ? {} : { id: id32(m.id, 'refused.id') }),
        ...(m.filter === undefined ? {} : { filter: asText(m.filter, 'refused.filter', MAX_TOPIC) }),
        ...(m.bridged === undefined ? {} : { bridged: asArray(m.bridged, 'refused.bridged', 64).map((f, i) => asText(f, `refused.bridged[${i}]`, MAX_TOPIC)) }),
      };
    }
    case 'res': {
      onlyKeys(m, ['t', 'id', 'pdu', 'refused'], 'res');
      const out: HilMessage = { t, id: id32(m.id, 'res.id'), pdu: asBytes(m.pdu, 'res.pdu') };
      return m.refused === undefined ? out : { ...out, refused: asText(m.refused, 'res.refused', MAX_CODE) };
    }
    case 'reading':
      onlyKeys(m, ['t', 'slot', 'device', 'kind', 'seq', 'ts', 'value', 'epoch'], 'reading');
      if (m.value === undefined) throw new DecodeError(CommonCode.DECODE_VALUE, 'reading.value: missing');
      return {
        t,
        slot: asText(m.slot, 'reading.slot', MAX_ID),
        device: asText(m.device, 'reading.device', MAX_ID),
        kind: oneOf(m.kind, 'reading.kind', KINDS),
        seq: asUint(m.seq, 'reading.seq'),
        ts: asUint(m.ts, 'reading.ts'),
        value: m.value,
        ...(m.epoch !== undefined ? { epoch: asUint(m.epoch, 'reading.epoch') } : {}),
      };
    case 'suback':
      onlyKeys(m, ['t', 'filter'], 'suback');
      return { t, filter: asText(m.filter, 'suback.filter', MAX_TOPIC) };
    case 'puback':
      onlyKeys(m, ['t', 'id'], 'puback');
      return { t, id: id32(m.id, 'puback.id') };
    case 'msg':
      onlyKeys(m, ['t', 'topic', 'payload'], 'msg');
      return { t, topic: asText(m.topic, 'msg.topic', MAX_TOPIC), payload: bounded(m.payload, 'msg.payload') };
    case 'diagq':
      onlyKeys(m, ['t', 'id'], 'diagq');
      return { t, id: id32(m.id, 'diagq.id') };
    case 'diag':
      onlyKeys(m, ['t', 'id', 'd'], 'diag');
      return { t, id: id32(m.id, 'diag.id'), d: decodeDiagReport(m.d) };
    default:
      throw new DecodeError(CommonCode.DECODE_TYPE, `unknown hil message type ${JSON.stringify(t.slice(0, 16))}`);
  }
}
