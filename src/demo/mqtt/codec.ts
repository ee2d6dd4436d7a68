// MQTT 3.1.1 control packets (OASIS MQTT Version 3.1.1, §2-§3) for the demo's embedded broker:
// CONNECT/CONNACK, PUBLISH (QoS 0 and 1)/PUBACK, SUBSCRIBE/SUBACK, UNSUBSCRIBE/UNSUBACK,
// PINGREQ/PINGRESP, DISCONNECT. The QoS 2 flow (PUBREC/PUBREL/PUBCOMP) is not supported: those
// packet types and a QoS 2 PUBLISH are refused as DecodeErrors, and the broker closes the
// connection (what §4.8 allows a server to do with a packet it will not process).
//
// Strict, like every decoder here: one packet per call, trailing bytes refused, reserved flag bits
// checked (§2.2.2), remaining length minimally encoded (§2.2.3), strings well-formed UTF-8 without
// U+0000 (§1.5.3), packet identifiers non-zero (§2.3.1). Only DecodeError is thrown.

import { DecodeError, ErrorCode } from '../../uzp/errors.js';
import { Reader, Writer, utf8 } from '../../uzp/bytes.js';
import { isTopicFilter, isTopicName } from '../../lib/mqtt-topics.js';

export const PACKET = { CONNECT: 1, CONNACK: 2, PUBLISH: 3, PUBACK: 4, SUBSCRIBE: 8, SUBACK: 9, UNSUBSCRIBE: 10, UNSUBACK: 11, PINGREQ: 12, PINGRESP: 13, DISCONNECT: 14 } as const;
/** §2.2.3: at most four length bytes, so at most 268,435,455. */
export const MAX_REMAINING = 268_435_455;
/** §3.2.2.3 CONNACK return codes used here. */
export const CONNACK_RC = { ACCEPTED: 0, BAD_PROTOCOL_VERSION: 1, IDENTIFIER_REJECTED: 2 } as const;
/** §3.9.3 SUBACK failure return code. */
export const SUBACK_FAILURE = 0x80;

export type QoS = 0 | 1;
export type MqttPacket =
  | { readonly type: 'connect'; readonly level: number; readonly clientId: string; readonly keepalive: number; readonly cleanSession: boolean; readonly will?: { readonly topic: string; readonly payload: Uint8Array; readonly qos: 0 | 1 | 2; readonly retain: boolean }; readonly username?: string; readonly password?: Uint8Array }
  | { readonly type: 'connack'; readonly sessionPresent: boolean; readonly returnCode: number }
  | { readonly type: 'publish'; readonly topic: string; readonly payload: Uint8Array; readonly qos: QoS; readonly retain: boolean; readonly dup: boolean; readonly id?: number }
  | { readonly type: 'puback'; readonly id: number }
  | { readonly type: 'subscribe'; readonly id: number; readonly subscriptions: readonly { readonly filter: string; readonly qos: 0 | 1 | 2 }[] }
  | { readonly type: 'suback'; readonly id: number; readonly granted: readonly number[] }
  | { readonly type: 'unsubscribe'; readonly id: number; readonly filters: readonly string[] }
  | { readonly type: 'unsuback'; readonly id: number }
  | { readonly type: 'pingreq' }
  | { readonly type: 'pingresp' }
  | { readonly type: 'disconnect' };

const bad = (code: ErrorCode, msg: string): DecodeError => new DecodeError(code, `mqtt: ${msg}`);

/** §1.5.3 UTF-8 string: 2-byte length, well-formed UTF-8, no U+0000. */
function readString(r: Reader, what: string): string {
  let s: string;
  try {
    s = utf8.decode(r.vec16(0xffff, what));
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw bad(ErrorCode.DECODE_VALUE, `${what}: not well-formed UTF-8`);
  }
  if (s.includes('\u0000')) throw bad(ErrorCode.DECODE_VALUE, `${what}: contains U+0000`);
  return s;
}

function writeString(w: Writer, s: string): void {
  w.vec16(utf8.encode(s));
}

function packetId(r: Reader): number {
  const id = r.u16('packet identifier');
  if (id === 0) throw bad(ErrorCode.DECODE_VALUE, 'packet identifier 0 (§2.3.1)');
  return id;
}

/**
 * Reads the remaining length at `off` (§2.2.3). Returns undefined when more bytes are needed;
 * throws on a fifth length byte or a non-minimal encoding.
 */
export function readRemainingLength(b: Uint8Array, off: number): { length: number; bytes: number } | undefined {
  let value = 0;
  for (let i = 0; i < 4; i++) {
    const byte = b[off + i];
    if (byte === undefined) return undefined;
    value += (byte & 0x7f) * 128 ** i;
    if ((byte & 0x80) === 0) {
      if (i > 0 && byte === 0) throw bad(ErrorCode.DECODE_VALUE, 'remaining length not minimally encoded');
      return { length: value, bytes: i + 1 };
    }
  }
  throw bad(ErrorCode.DECODE_LENGTH, 'remaining length longer than four bytes (§2.2.3)');
}

/** Decodes exactly one complete packet (fixed header included). */
export function decodePacket(b: Uint8Array): MqttPacket {
  if (b.length < 2) throw bad(ErrorCode.DECODE_TRUNCATED, 'packet shorter than a fixed header');
  const type = b[0]! >> 4;
  const flags = b[0]! & 0x0f;
  const rl = readRemainingLength(b, 1);
  if (rl === undefined) throw bad(ErrorCode.DECODE_TRUNCATED, 'remaining length cut short');
  const body = b.subarray(1 + rl.bytes);
  if (body.length < rl.length) throw bad(ErrorCode.DECODE_TRUNCATED, `remaining length ${rl.length}, got ${body.length}`);
  if (body.length > rl.length) throw bad(ErrorCode.DECODE_TRAILING, `${body.length - rl.length} bytes after the packet`);
  const r = new Reader(body);
  const expectFlags = (want: number): void => {
    if (flags !== want) throw bad(ErrorCode.DECODE_VALUE, `packet type ${type}: reserved flags ${flags.toString(2)} (§2.2.2)`);
  };
  let p: MqttPacket;
  switch (type) {
    case PACKET.CONNECT:
      expectFlags(0);
      p = decodeConnect(r);
      break;
    case PACKET.CONNACK: {
      expectFlags(0);
      const ack = r.u8('connack flags');
      if ((ack & 0xfe) !== 0) throw bad(ErrorCode.DECODE_VALUE, 'connack reserved flags');
      p = { type: 'connack', sessionPresent: ack === 1, returnCode: r.u8('connack return code') };
      break;
    }
    case PACKET.PUBLISH:
      p = decodePublish(r, flags);
      break;
    case PACKET.PUBACK:
    case PACKET.UNSUBACK:
      expectFlags(0);
      p = { type: type === PACKET.PUBACK ? 'puback' : 'unsuback', id: packetId(r) };
      break;
    case PACKET.SUBSCRIBE: {
      expectFlags(2);
      const id = packetId(r);
      const subscriptions: { filter: string; qos: 0 | 1 | 2 }[] = [];
      do {
        const filter = readString(r, 'topic filter');
        if (!isTopicFilter(filter)) throw bad(ErrorCode.DECODE_VALUE, `invalid topic filter ${JSON.stringify(filter)} (§4.7.1)`);
        const q = r.u8('requested QoS');
        if (q > 2) throw bad(ErrorCode.DECODE_VALUE, `requested QoS byte ${q} (§3.8.3.1)`);
        subscriptions.push({ filter, qos: q as 0 | 1 | 2 });
      } while (r.remaining > 0);
      p = { type: 'subscribe', id, subscriptions };
      break;
    }
    case PACKET.SUBACK: {
      expectFlags(0);
      const id = packetId(r);
      const granted = [...r.rest()];
      if (granted.length === 0 || granted.some((g) => g > 2 && g !== SUBACK_FAILURE)) throw bad(ErrorCode.DECODE_VALUE, 'suback return codes (§3.9.3)');
      p = { type: 'suback', id, granted };
      break;
    }
    case PACKET.UNSUBSCRIBE: {
      expectFlags(2);
      const id = packetId(r);
      const filters: string[] = [];
      do {
        const f = readString(r, 'topic filter');
        if (!isTopicFilter(f)) throw bad(ErrorCode.DECODE_VALUE, `invalid topic filter ${JSON.stringify(f)} (§4.7.1)`);
        filters.push(f);
      } while (r.remaining > 0);
      p = { type: 'unsubscribe', id, filters };
      break;
    }
    case PACKET.PINGREQ:
    case PACKET.PINGRESP:
    case PACKET.DISCONNECT:
      expectFlags(0);
      p = { type: type === PACKET.PINGREQ ? 'pingreq' : type === PACKET.PINGRESP ? 'pingresp' : 'disconnect' };
      break;
    default:
      throw bad(ErrorCode.DECODE_TYPE, `packet type ${type} not supported (reserved, or the QoS 2 flow)`);
  }
  r.end(`mqtt packet type ${type}`);
  return p;
}

function decodeConnect(r: Reader): MqttPacket {
  // §3.1.2.1: the protocol name is "MQTT"; the level (4 = 3.1.1) is checked by the broker, which
  // must answer an unsupported level with CONNACK return code 1 (§3.1.2.2).
  if (readString(r, 'protocol name') !== 'MQTT') throw bad(ErrorCode.DECODE_VALUE, 'protocol name is not "MQTT" (§3.1.2.1)');
  const level = r.u8('protocol level');
  const f = r.u8('connect flags');
  if (f & 0x01) throw bad(ErrorCode.DECODE_VALUE, 'connect flags reserved bit set (§3.1.2.3)');
  const willFlag = (f & 0x04) !== 0;
  const willQos = (f >> 3) & 3;
  const willRetain = (f & 0x20) !== 0;
  const hasPassword = (f & 0x40) !== 0;
  const hasUser = (f & 0x80) !== 0;
  if (!willFlag && (willQos !== 0 || willRetain)) throw bad(ErrorCode.DECODE_VALUE, 'will QoS/retain without a will (§3.1.2.6-7)');
  if (willQos === 3) throw bad(ErrorCode.DECODE_VALUE, 'will QoS 3 (§3.1.2.6)');
  if (hasPassword && !hasUser) throw bad(ErrorCode.DECODE_VALUE, 'password without user name (§3.1.2.9)');
  const keepalive = r.u16('keep alive');
  const clientId = readString(r, 'client identifier');
  let will: { topic: string; payload: Uint8Array; qos: 0 | 1 | 2; retain: boolean } | undefined;
  if (willFlag) {
    const topic = readString(r, 'will topic');
    if (!isTopicName(topic)) throw bad(ErrorCode.DECODE_VALUE, 'will topic is not a topic name');
    will = { topic, payload: r.vec16(0xffff, 'will message'), qos: willQos as 0 | 1 | 2, retain: willRetain };
  }
  const username = hasUser ? readString(r, 'user name') : undefined;
  const password = hasPassword ? r.vec16(0xffff, 'password') : undefined;
  return {
    type: 'connect',
    level,
    clientId,
    keepalive,
    cleanSession: (f & 0x02) !== 0,
    ...(will ? { will } : {}),
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
  };
}

function decodePublish(r: Reader, flags: number): MqttPacket {
  const qos = (flags >> 1) & 3;
  const dup = (flags & 0x08) !== 0;
  if (qos === 3) throw bad(ErrorCode.DECODE_VALUE, 'publish QoS 3 (§3.3.1.2)');
  if (qos === 2) throw bad(ErrorCode.DECODE_TYPE, 'publish QoS 2 not supported by the embedded broker');
  if (qos === 0 && dup) throw bad(ErrorCode.DECODE_VALUE, 'DUP set on a QoS 0 publish (§3.3.1.1)');
  const topic = readString(r, 'topic name');
  if (!isTopicName(topic)) throw bad(ErrorCode.DECODE_VALUE, `invalid topic name ${JSON.stringify(topic)} (§3.3.2.1)`);
  const id = qos > 0 ? packetId(r) : undefined;
  const payload = r.rest();
  return { type: 'publish', topic, payload, qos: qos as QoS, retain: (flags & 1) !== 0, dup, ...(id !== undefined ? { id } : {}) };
}

/** Encodes one packet; the inverse of decodePacket for every packet it accepts. */
export function encodePacket(p: MqttPacket): Uint8Array {
  const w = new Writer();
  let first: number;
  switch (p.type) {
    case 'connect': {
      first = PACKET.CONNECT << 4;
      writeString(w, 'MQTT');
      w.u8(p.level);
      let f = p.cleanSession ? 0x02 : 0;
      if (p.will) f |= 0x04 | (p.will.qos << 3) | (p.will.retain ? 0x20 : 0);
      if (p.password !== undefined) f |= 0x40;
      if (p.username !== undefined) f |= 0x80;
      w.u8(f).u16(p.keepalive);
      writeString(w, p.clientId);
      if (p.will) {
        writeString(w, p.will.topic);
        w.vec16(p.will.payload);
      }
      if (p.username !== undefined) writeString(w, p.username);
      if (p.password !== undefined) w.vec16(p.password);
      break;
    }
    case 'connack':
      first = PACKET.CONNACK << 4;
      w.u8(p.sessionPresent ? 1 : 0).u8(p.returnCode);
      break;
    case 'publish':
      first = (PACKET.PUBLISH << 4) | (p.dup ? 0x08 : 0) | (p.qos << 1) | (p.retain ? 1 : 0);
      writeString(w, p.topic);
      if (p.qos > 0) w.u16(p.id ?? 0);
      w.bytes(p.payload);
      break;
    case 'puback':
    case 'unsuback':
      first = (p.type === 'puback' ? PACKET.PUBACK : PACKET.UNSUBACK) << 4;
      w.u16(p.id);
      break;
    case 'subscribe':
      first = (PACKET.SUBSCRIBE << 4) | 2;
      w.u16(p.id);
      for (const s of p.subscriptions) {
        writeString(w, s.filter);
        w.u8(s.qos);
      }
      break;
    case 'suback':
      first = PACKET.SUBACK << 4;
      w.u16(p.id);
      for (const g of p.granted) w.u8(g);
      break;
    case 'unsubscribe':
      first = (PACKET.UNSUBSCRIBE << 4) | 2;
      w.u16(p.id);
      for (const f of p.filters) writeString(w, f);
      break;
    case 'pingreq':
      first = PACKET.PINGREQ << 4;
      break;
    case 'pingresp':
      first = PACKET.PINGRESP << 4;
      break;
    case 'disconnect':
      first = PACKET.DISCONNECT << 4;
      break;
  }
  const body = w.finish();
  if (body.length > MAX_REMAINING) throw bad(ErrorCode.DECODE_LENGTH, 'packet too large');
  const len: number[] = [];
  let n = body.length;
  do {
    let d = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) d |= 0x80;
    len.push(d);
  } while (n > 0);
  const out = new Uint8Array(1 + len.length + body.length);
  out[0] = first;
  out.set(len, 1);
  out.set(body, 1 + len.length);
  return out;
}

/**
 * Splits a TCP byte stream into whole packets. Bounded: a packet announcing more than `maxPacket`
 * bytes is refused before it is buffered (the broker then closes the connection).
 */
export class PacketSplitter {
  private buf: Uint8Array = new Uint8Array(0);

  constructor(private readonly maxPacket: number) {}

  /** Adds bytes; returns the complete packets now available (each still to be decoded). */
  push(chunk: Uint8Array): Uint8Array[] {
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf);
    joined.set(chunk, this.buf.length);
    const out: Uint8Array[] = [];
    let off = 0;
    for (;;) {
      if (joined.length - off < 2) break;
      const rl = readRemainingLength(joined, off + 1);
      if (rl === undefined) break;
      const total = 1 + rl.bytes + rl.length;
      if (total > this.maxPacket) throw bad(ErrorCode.DECODE_LENGTH, `packet of ${total} bytes exceeds the limit of ${this.maxPacket}`);
      if (joined.length - off < total) break;
      out.push(joined.slice(off, off + total));
      off += total;
    }
    this.buf = joined.slice(off);
    return out;
  }
}
