// Messages of the 1-RTT attachment (docs/PROFILE.md §1-RTT attachment): HELLO version 2 carries the
// EP's identity sealed to the RN's static key, HELLO_R's short form carries the RN's ephemeral and the
// sealed OK, and AUTH's short form confirms the keys both ephemerals made. Every decoder rejects
// trailing bytes and throws only DecodeError.

import { concat, fixedLength, Reader, Writer } from '../bytes.js';
import { AEAD_TAG_LENGTH, X25519_KEY_LENGTH } from '../crypto/provider.js';
import { LINK_VERSION_1RTT, NONCE_LENGTH } from './constants.js';
import { AUTH_SEALED_MAX, AUTH_SEALED_MIN, OK_SEALED_LENGTH } from './messages.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';

/** 0x01 HELLO, version 2 (EP -> RN). */
export interface Hello1 {
  readonly ephEp: Uint8Array; // X25519 public, 32
  readonly nonceEp: Uint8Array; // 32
  /** The EP's clock, ms since the Unix epoch: the RN's replay window (ATTACH1_WINDOW_*). */
  readonly timeEp: number;
  /** seal(pcert vec32 || sig_ep) under ep_hs1: AUTH's inner form. */
  readonly sealed: Uint8Array;
}

/** 0x02 HELLO_R, short form (RN -> EP, answer to HELLO version 2). */
export interface HelloR1 {
  readonly ephRn: Uint8Array; // 32
  readonly nonceRn: Uint8Array; // 32
  /** OK's sealed plaintext (max_frame, keepalive_ms) under rn_ctl, counter 0. */
  readonly sealedOk: Uint8Array; // 24
}

/** version || eph_ep || nonce_ep || time_ep: the part of HELLO version 2 before `sealed`. */
export const HELLO1_CLEAR_LENGTH = 1 + X25519_KEY_LENGTH + NONCE_LENGTH + 8;
export const HELLO_R1_LENGTH = X25519_KEY_LENGTH + NONCE_LENGTH + OK_SEALED_LENGTH;
/** AUTH's short form: the tag of an empty plaintext under ep_ctl, counter 0. */
export const CONFIRM_LENGTH = AEAD_TAG_LENGTH;

/** The version byte of a HELLO payload (the RN picks the attachment by it); DecodeError when empty. */
export function helloVersion(payload: Uint8Array): number {
  return new Reader(payload).u8('HELLO version');
}

/** The clear part of HELLO version 2 (73 bytes: what th0 covers): version || eph_ep || nonce_ep || time_ep. */
export function encodeHello1Clear(m: Omit<Hello1, 'sealed'>): Uint8Array {
  return new Writer(HELLO1_CLEAR_LENGTH)
    .u8(LINK_VERSION_1RTT)
    .bytes(fixedLength(m.ephEp, X25519_KEY_LENGTH, 'eph_ep'))
    .bytes(fixedLength(m.nonceEp, NONCE_LENGTH, 'nonce_ep'))
    .u64(m.timeEp)
    .finish();
}

/** HELLO version 2: its clear part (encodeHello1Clear) then `sealed`. */
export function encodeHello1(clear: Uint8Array, sealed: Uint8Array): Uint8Array {
  fixedLength(clear, HELLO1_CLEAR_LENGTH, 'HELLO clear part');
  if (sealed.length < AUTH_SEALED_MIN || sealed.length > AUTH_SEALED_MAX) throw new RangeError(`HELLO sealed: ${sealed.length} bytes`);
  return concat(clear, sealed);
}

export function decodeHello1(b: Uint8Array): Hello1 {
  const r = new Reader(b);
  const version = r.u8('HELLO version');
  if (version !== LINK_VERSION_1RTT) throw new DecodeError(CommonCode.DECODE_VALUE, `HELLO: version ${version} is not the 1-RTT attachment`);
  const ephEp = r.bytes(X25519_KEY_LENGTH, 'HELLO eph_ep');
  const nonceEp = r.bytes(NONCE_LENGTH, 'HELLO nonce_ep');
  const timeEp = r.u64('HELLO time_ep');
  const sealed = r.rest();
  if (sealed.length < AUTH_SEALED_MIN || sealed.length > AUTH_SEALED_MAX) {
    throw new DecodeError(CommonCode.DECODE_LENGTH, `HELLO: sealed part of ${sealed.length} bytes, expected ${AUTH_SEALED_MIN}..${AUTH_SEALED_MAX}`);
  }
  return { ephEp, nonceEp, timeEp, sealed };
}

export function encodeHelloR1(m: HelloR1): Uint8Array {
  return new Writer(HELLO_R1_LENGTH)
    .bytes(fixedLength(m.ephRn, X25519_KEY_LENGTH, 'eph_rn'))
    .bytes(fixedLength(m.nonceRn, NONCE_LENGTH, 'nonce_rn'))
    .bytes(fixedLength(m.sealedOk, OK_SEALED_LENGTH, 'sealed OK'))
    .finish();
}

export function decodeHelloR1(b: Uint8Array): HelloR1 {
  const r = new Reader(b);
  const ephRn = r.bytes(X25519_KEY_LENGTH, 'HELLO_R eph_rn');
  const nonceRn = r.bytes(NONCE_LENGTH, 'HELLO_R nonce_rn');
  const sealedOk = r.bytes(OK_SEALED_LENGTH, 'HELLO_R sealed OK');
  r.end('HELLO_R (1-RTT)');
  return { ephRn, nonceRn, sealedOk };
}
