// 0-RTT on the wire (draft §9; docs/PROFILE.md §0-RTT). Three pieces:
//
//   EXT_EARLY_DATA (0x0004) in CH1:  empty            "I keep tickets: send me one"
//                                    ticket[203]      "resume with this ticket; early data follows"
//   EXT_EARLY_DATA (0x0004) in EE:   u8 flags (bit 0: the early data was accepted; others zero)
//                                    [ u32 lifetime_s || ticket_id[16] || ticket[203] ]   a new ticket
//   EARLY_CH1, in the CH1 position of a JOIN:  0x07 || vec32(CH1) || vec32(early record)
//
// The early record is one AEAD record under the early traffic key of that exact CH1
// (early-keys.ts), nonce = its iv (one record per key), AD = "uzp early v1"; its plaintext is the
// early messages: u16 count || count x (u32 channel || vec32(message)). The RN sees the container
// type byte and the Grant: under a no-replay Grant it forwards the CH1 alone (draft §9: "RNs MUST
// drop any early data tagged with that policy").

import { concat, Reader, utf8, Writer } from '../bytes.js';
import type { AeadAlgorithm, CryptoProvider } from '../crypto/provider.js';
import { AEAD_TAG_LENGTH } from '../crypto/provider.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';
import type { TrafficKey } from '../keyschedule.js';
import { TICKET_ID_LENGTH, TICKET_LENGTH } from './ticket.js';

/** First byte of the CH1 position when early data rides with the CH1 (a plain CH1 starts with 0x01, a RESUME 0x04, a STANDBY 0x06). */
export const EARLY_CH1 = 0x07;
/** Most early-data plaintext an initiator sends and a responder takes (a ticket may say less). */
export const MAX_EARLY_DATA = 16 * 1024;
/** Most early messages in one record. */
export const MAX_EARLY_MESSAGES = 64;
const MAX_CH1 = 60 * 1024;
const EARLY_AD = utf8.encode('uzp early v1');
const FLAG_ACCEPTED = 0x01;

export interface EarlyMessage {
  /** An initiator-opened channel: odd, never 0 (session.ts). */
  readonly channel: number;
  readonly message: Uint8Array;
}

/** What the responder says about early data and resumption, in EE. */
export interface EarlyAnswer {
  readonly accepted: boolean;
  readonly ticket?: { readonly lifetimeS: number; readonly ticketId: Uint8Array; readonly ticket: Uint8Array };
}

export function encodeEarlyCh1(ch1: Uint8Array, early: Uint8Array): Uint8Array {
  return new Writer(9 + ch1.length + early.length).u8(EARLY_CH1).vec32(ch1).vec32(early).finish();
}

/** Splits an EARLY_CH1 container; throws DecodeError on anything malformed. */
export function decodeEarlyCh1(b: Uint8Array): { ch1: Uint8Array; early: Uint8Array } {
  const r = new Reader(b);
  if (r.u8('type') !== EARLY_CH1) throw new DecodeError(CommonCode.DECODE_TYPE, 'not an EARLY_CH1 container');
  const ch1 = r.vec32(MAX_CH1, 'early CH1');
  const early = r.vec32(MAX_EARLY_DATA + 6 + AEAD_TAG_LENGTH, 'early record');
  r.end('EARLY_CH1');
  return { ch1, early };
}

export function encodeEarlyMessages(ms: readonly EarlyMessage[]): Uint8Array {
  if (ms.length === 0 || ms.length > MAX_EARLY_MESSAGES) throw new RangeError(`1..${MAX_EARLY_MESSAGES} early messages`);
  const size = ms.reduce((n, m) => n + 8 + m.message.length, 2);
  if (size > MAX_EARLY_DATA) throw new RangeError(`early data of ${size} bytes exceeds ${MAX_EARLY_DATA}`);
  const w = new Writer(size).u16(ms.length);
  for (const m of ms) {
    if (!Number.isInteger(m.channel) || m.channel % 2 !== 1 || m.channel > 0xffff_ffff) throw new RangeError(`early channel ${m.channel}: an odd (initiator) channel id`);
    w.u32(m.channel).vec32(m.message);
  }
  return w.finish();
}

export function decodeEarlyMessages(b: Uint8Array): EarlyMessage[] {
  if (b.length > MAX_EARLY_DATA) throw new DecodeError(CommonCode.DECODE_LENGTH, `early data of ${b.length} bytes exceeds ${MAX_EARLY_DATA}`);
  const r = new Reader(b);
  const n = r.u16('early message count');
  if (n === 0 || n > MAX_EARLY_MESSAGES) throw new DecodeError(CommonCode.DECODE_LENGTH, `early message count ${n} not in 1..${MAX_EARLY_MESSAGES}`);
  const out: EarlyMessage[] = [];
  for (let i = 0; i < n; i++) {
    const channel = r.u32('early channel');
    if (channel % 2 !== 1) throw new DecodeError(CommonCode.DECODE_VALUE, `early channel ${channel} is not an initiator channel`);
    out.push({ channel, message: r.vec32(MAX_EARLY_DATA, 'early message') });
  }
  r.end('early data');
  return out;
}

/** Seals the early messages under `key` (the one record this key ever seals). */
export function sealEarly(p: CryptoProvider, aead: AeadAlgorithm, key: TrafficKey, plaintext: Uint8Array): Uint8Array {
  return p.aead(aead, key.key).seal(key.iv, plaintext, EARLY_AD);
}

/** The early plaintext, or null when the record does not authenticate under `key`. */
export function openEarly(p: CryptoProvider, aead: AeadAlgorithm, key: TrafficKey, sealed: Uint8Array): Uint8Array | null {
  if (sealed.length < AEAD_TAG_LENGTH) return null;
  return p.aead(aead, key.key).open(key.iv, sealed, EARLY_AD);
}

export function encodeEarlyAnswer(a: EarlyAnswer): Uint8Array {
  const flags = new Uint8Array([a.accepted ? FLAG_ACCEPTED : 0]);
  if (a.ticket === undefined) return flags;
  const t = a.ticket;
  if (t.ticketId.length !== TICKET_ID_LENGTH || t.ticket.length !== TICKET_LENGTH) throw new RangeError('ticket id or ticket of the wrong length');
  return concat(flags, new Writer(4).u32(t.lifetimeS).finish(), t.ticketId, t.ticket);
}

export function decodeEarlyAnswer(b: Uint8Array): EarlyAnswer {
  const r = new Reader(b);
  const flags = r.u8('early flags');
  if ((flags & ~FLAG_ACCEPTED) !== 0) throw new DecodeError(CommonCode.DECODE_VALUE, `early flags 0x${flags.toString(16)}: reserved bits set`);
  const accepted = (flags & FLAG_ACCEPTED) !== 0;
  if (r.remaining === 0) return { accepted };
  const lifetimeS = r.u32('ticket lifetime');
  const ticketId = r.bytes(TICKET_ID_LENGTH, 'ticket id');
  const ticket = r.bytes(TICKET_LENGTH, 'ticket');
  r.end('early answer');
  return { accepted, ticket: { lifetimeS, ticketId, ticket } };
}
