// Resumption tickets for 0-RTT (draft §9: early data needs "a valid, non-expired session resumption
// token"). A responder issues one after a full handshake; it is opaque to the initiator: the
// session state the responder needs to accept early data later, sealed under a ticket key only the
// responder holds (a STEK, as TLS 1.3 servers do, RFC 8446 §4.6.1 and §8).
//
// Plaintext (TicketState), 1 + 16 + 8 + 8 + 2 + 4 x 32 + 4 = 167 bytes:
//   u8 version (1) | ticket_id[16] | u64 issued_ms | u64 expires_ms | u16 suite | cid_i[32] | cid_r[32]
//   | grant_id[32] | psk[32] | u32 max_early_data
// Sealed ticket, 8 + 12 + 167 + 16 = 203 bytes:
//   key_id[8] | nonce[12] | ChaCha20-Poly1305(ticket key, nonce, AD = "uzp ticket v1" || key_id, plaintext)
//
// The ticket keys live in the responder's memory only: a restarted responder cannot open a ticket
// issued before, so a restart can never reopen a replay window (the strike register, also in
// memory, covers the tickets of the running process). Tickets are single-use (strike-register.ts).

import { concat, equal, fixedLength, Reader, utf8, Writer } from '../bytes.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { AEAD_NONCE_LENGTH, AEAD_TAG_LENGTH } from '../crypto/provider.js';

export const TICKET_VERSION = 1;
export const TICKET_ID_LENGTH = 16;
const ID_LENGTH = 32;
const KEY_ID_LENGTH = 8;
export const TICKET_STATE_LENGTH = 1 + TICKET_ID_LENGTH + 8 + 8 + 2 + 4 * ID_LENGTH + 4;
export const TICKET_LENGTH = KEY_ID_LENGTH + AEAD_NONCE_LENGTH + TICKET_STATE_LENGTH + AEAD_TAG_LENGTH;
/** The longest lifetime (expires - issued) a ticket may have; a responder refuses longer ones. */
export const MAX_TICKET_LIFETIME_MS = 24 * 3600_000;
const TICKET_AD_LABEL = utf8.encode('uzp ticket v1');

/** What a ticket carries back to its issuer. */
export interface TicketState {
  /** Random; what the strike register records, so each ticket is accepted once. */
  readonly ticketId: Uint8Array;
  readonly issuedMs: number;
  readonly expiresMs: number;
  /** The suite of the session it came from; early data uses it again. */
  readonly suite: number;
  readonly initiatorCid: Uint8Array;
  readonly responderCid: Uint8Array;
  /** object_id of the Grant of that session; early data is accepted only under the same Grant. */
  readonly grantId: Uint8Array;
  /** The resumption PSK (early-keys.ts), secret to the two endpoints. */
  readonly psk: Uint8Array;
  /** Most early-data plaintext bytes the responder will take with this ticket. */
  readonly maxEarlyData: number;
}

export function encodeTicketState(s: TicketState): Uint8Array {
  if (!(s.expiresMs > s.issuedMs) || s.expiresMs - s.issuedMs > MAX_TICKET_LIFETIME_MS) throw new RangeError(`ticket lifetime ${s.expiresMs - s.issuedMs} ms: expected 1..${MAX_TICKET_LIFETIME_MS}`);
  return new Writer(TICKET_STATE_LENGTH)
    .u8(TICKET_VERSION)
    .bytes(fixedLength(s.ticketId, TICKET_ID_LENGTH, 'ticket id'))
    .u64(s.issuedMs)
    .u64(s.expiresMs)
    .u16(s.suite)
    .bytes(fixedLength(s.initiatorCid, ID_LENGTH, 'ticket initiator CID'))
    .bytes(fixedLength(s.responderCid, ID_LENGTH, 'ticket responder CID'))
    .bytes(fixedLength(s.grantId, ID_LENGTH, 'ticket grant id'))
    .bytes(fixedLength(s.psk, ID_LENGTH, 'ticket psk'))
    .u32(s.maxEarlyData)
    .finish();
}

/** Strict: exact length, version 1, a lifetime within MAX_TICKET_LIFETIME_MS; throws DecodeError. */
export function decodeTicketState(b: Uint8Array): TicketState {
  const r = new Reader(b);
  const version = r.u8('version');
  if (version !== TICKET_VERSION) throw new DecodeError(CommonCode.DECODE_VALUE, `ticket version ${version} (expected ${TICKET_VERSION})`);
  const s: TicketState = {
    ticketId: r.bytes(TICKET_ID_LENGTH, 'ticket id'),
    issuedMs: r.u64('issued'),
    expiresMs: r.u64('expires'),
    suite: r.u16('suite'),
    initiatorCid: r.bytes(ID_LENGTH, 'initiator CID'),
    responderCid: r.bytes(ID_LENGTH, 'responder CID'),
    grantId: r.bytes(ID_LENGTH, 'grant id'),
    psk: r.bytes(ID_LENGTH, 'psk'),
    maxEarlyData: r.u32('max early data'),
  };
  r.end('ticket state');
  if (!(s.expiresMs > s.issuedMs) || s.expiresMs - s.issuedMs > MAX_TICKET_LIFETIME_MS) throw new DecodeError(CommonCode.DECODE_VALUE, 'ticket lifetime out of range');
  return s;
}

interface TicketKey {
  readonly id: Uint8Array;
  readonly key: Uint8Array;
}

/**
 * The responder's ticket keys: the current one seals, the current and the previous one open (so a
 * rotation does not void the tickets just issued). In memory only (see the top of this file).
 */
export class TicketKeys {
  private current: TicketKey;
  private previous: TicketKey | undefined;

  constructor(
    private readonly p: CryptoProvider,
    /** Tests and vectors only: a fixed first key. */
    first?: { readonly id: Uint8Array; readonly key: Uint8Array },
  ) {
    this.current = first !== undefined ? { id: fixedLength(first.id, KEY_ID_LENGTH, 'ticket key id'), key: fixedLength(first.key, 32, 'ticket key') } : this.fresh();
  }

  private fresh(): TicketKey {
    return { id: this.p.randomBytes(KEY_ID_LENGTH), key: this.p.randomBytes(32) };
  }

  /** A new current key; the old current one still opens until the next rotation. */
  rotate(): void {
    this.previous = this.current;
    this.current = this.fresh();
  }

  /** key_id || nonce || AEAD(...); `nonce` for vectors only (random otherwise). */
  seal(s: TicketState, nonce: Uint8Array = this.p.randomBytes(AEAD_NONCE_LENGTH)): Uint8Array {
    const k = this.current;
    const sealed = this.p.aead('chacha20-poly1305', k.key).seal(fixedLength(nonce, AEAD_NONCE_LENGTH, 'ticket nonce'), encodeTicketState(s), concat(TICKET_AD_LABEL, k.id));
    return concat(k.id, nonce, sealed);
  }

  /**
   * The state inside a ticket this responder issued, or undefined for anything else: wrong length,
   * a key it does not hold (another responder's, or one from before a restart), a failed tag, or a
   * state that does not decode. Never throws: a ticket arrives from the network.
   */
  open(ticket: Uint8Array): TicketState | undefined {
    if (ticket.length !== TICKET_LENGTH) return undefined;
    const id = ticket.subarray(0, KEY_ID_LENGTH);
    const k = [this.current, this.previous].find((x) => x !== undefined && equal(x.id, id));
    if (k === undefined) return undefined;
    const nonce = ticket.subarray(KEY_ID_LENGTH, KEY_ID_LENGTH + AEAD_NONCE_LENGTH);
    const plain = this.p.aead('chacha20-poly1305', k.key).open(nonce, ticket.subarray(KEY_ID_LENGTH + AEAD_NONCE_LENGTH), concat(TICKET_AD_LABEL, k.id));
    if (plain === null) return undefined;
    try {
      return decodeTicketState(plain);
    } catch {
      return undefined;
    }
  }
}
