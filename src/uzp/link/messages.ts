// Attachment messages of the RN link (draft §4 step 1 "outbound control channels", §11 "RN
// validates credentials"): HELLO, HELLO_R, AUTH, OK, REFUSED and the plaintexts sealed inside them,
// plus the RELAY payload. Bytes in docs/PROFILE.md; every decoder rejects trailing
// bytes and throws only DecodeError.

import { fixedLength, Reader, Writer } from '../bytes.js';
import { AEAD_TAG_LENGTH, ED25519_PUBLIC_LENGTH, ED25519_SIGNATURE_LENGTH, X25519_KEY_LENGTH } from '../crypto/provider.js';
import { LINK_VERSION, MAX_PCERT_BYTES, NONCE_LENGTH } from './constants.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';

/** 0x01 HELLO (EP -> RN), in clear. */
interface Hello {
  readonly version: number;
  readonly ephEp: Uint8Array; // X25519 public, 32
  readonly nonceEp: Uint8Array; // 32
}

/** 0x02 HELLO_R (RN -> EP): ephemeral and nonce in clear, the RN identity sealed. */
interface HelloR {
  readonly ephRn: Uint8Array; // 32
  readonly nonceRn: Uint8Array; // 32
  readonly sealed: Uint8Array; // seal(HelloRInner), 112
}

interface HelloRInner {
  readonly rnPublicKey: Uint8Array; // Ed25519, 32
  readonly sigRn: Uint8Array; // 64
}

interface AuthInner {
  readonly pcert: Uint8Array; // envelope bytes
  readonly sigEp: Uint8Array; // 64
}

interface OkInner {
  readonly maxFrame: number; // u32
  readonly keepaliveMs: number; // u32
}

const HELLO_LENGTH = 1 + X25519_KEY_LENGTH + NONCE_LENGTH;
const HELLO_R_INNER_LENGTH = ED25519_PUBLIC_LENGTH + ED25519_SIGNATURE_LENGTH;
const HELLO_R_SEALED_LENGTH = HELLO_R_INNER_LENGTH + AEAD_TAG_LENGTH;
const OK_INNER_LENGTH = 8;
export const OK_SEALED_LENGTH = OK_INNER_LENGTH + AEAD_TAG_LENGTH;
/** Smallest and largest sealed AUTH: pcert vec32 + sig + tag. */
export const AUTH_SEALED_MIN = 4 + ED25519_SIGNATURE_LENGTH + AEAD_TAG_LENGTH;
export const AUTH_SEALED_MAX = 4 + MAX_PCERT_BYTES + ED25519_SIGNATURE_LENGTH + AEAD_TAG_LENGTH;

export function encodeHello(m: Hello): Uint8Array {
  return new Writer(HELLO_LENGTH)
    .u8(m.version)
    .bytes(fixedLength(m.ephEp, X25519_KEY_LENGTH, 'eph_ep'))
    .bytes(fixedLength(m.nonceEp, NONCE_LENGTH, 'nonce_ep'))
    .finish();
}

export function decodeHello(b: Uint8Array): Hello {
  const r = new Reader(b);
  const version = r.u8('HELLO version');
  // A different version may have a different layout: refuse before reading further.
  if (version !== LINK_VERSION) throw new DecodeError(CommonCode.DECODE_VALUE, `HELLO: unsupported link version ${version}`);
  const ephEp = r.bytes(X25519_KEY_LENGTH, 'HELLO eph_ep');
  const nonceEp = r.bytes(NONCE_LENGTH, 'HELLO nonce_ep');
  r.end('HELLO');
  return { version, ephEp, nonceEp };
}

export function encodeHelloR(m: HelloR): Uint8Array {
  return new Writer(64 + HELLO_R_SEALED_LENGTH)
    .bytes(fixedLength(m.ephRn, X25519_KEY_LENGTH, 'eph_rn'))
    .bytes(fixedLength(m.nonceRn, NONCE_LENGTH, 'nonce_rn'))
    .bytes(fixedLength(m.sealed, HELLO_R_SEALED_LENGTH, 'HELLO_R sealed'))
    .finish();
}

export function decodeHelloR(b: Uint8Array): HelloR {
  const r = new Reader(b);
  const ephRn = r.bytes(X25519_KEY_LENGTH, 'HELLO_R eph_rn');
  const nonceRn = r.bytes(NONCE_LENGTH, 'HELLO_R nonce_rn');
  const sealed = r.bytes(HELLO_R_SEALED_LENGTH, 'HELLO_R sealed');
  r.end('HELLO_R');
  return { ephRn, nonceRn, sealed };
}

export function encodeHelloRInner(m: HelloRInner): Uint8Array {
  return new Writer(HELLO_R_INNER_LENGTH)
    .bytes(fixedLength(m.rnPublicKey, ED25519_PUBLIC_LENGTH, 'rn_public_key'))
    .bytes(fixedLength(m.sigRn, ED25519_SIGNATURE_LENGTH, 'sig_rn'))
    .finish();
}

export function decodeHelloRInner(b: Uint8Array): HelloRInner {
  const r = new Reader(b);
  const rnPublicKey = r.bytes(ED25519_PUBLIC_LENGTH, 'HELLO_R rn_public_key');
  const sigRn = r.bytes(ED25519_SIGNATURE_LENGTH, 'HELLO_R sig_rn');
  r.end('HELLO_R inner');
  return { rnPublicKey, sigRn };
}

/** AUTH and OK payloads are one sealed blob each; only their size is checked before opening. */
export function decodeSealed(b: Uint8Array, min: number, max: number, what: string): Uint8Array {
  if (b.length < min || b.length > max) {
    throw new DecodeError(CommonCode.DECODE_LENGTH, `${what}: sealed part of ${b.length} bytes, expected ${min}..${max}`);
  }
  return b;
}

export function encodeAuthInner(m: AuthInner): Uint8Array {
  if (m.pcert.length > MAX_PCERT_BYTES) throw new RangeError(`pcert: ${m.pcert.length} bytes exceeds ${MAX_PCERT_BYTES}`);
  return new Writer(4 + m.pcert.length + ED25519_SIGNATURE_LENGTH)
    .vec32(m.pcert)
    .bytes(fixedLength(m.sigEp, ED25519_SIGNATURE_LENGTH, 'sig_ep'))
    .finish();
}

export function decodeAuthInner(b: Uint8Array): AuthInner {
  const r = new Reader(b);
  const pcert = r.vec32(MAX_PCERT_BYTES, 'AUTH pcert');
  const sigEp = r.bytes(ED25519_SIGNATURE_LENGTH, 'AUTH sig_ep');
  r.end('AUTH inner');
  return { pcert, sigEp };
}

export function encodeOkInner(m: OkInner): Uint8Array {
  return new Writer(OK_INNER_LENGTH).u32(m.maxFrame).u32(m.keepaliveMs).finish();
}

export function decodeOkInner(b: Uint8Array): OkInner {
  const r = new Reader(b);
  const maxFrame = r.u32('OK max_frame');
  const keepaliveMs = r.u32('OK keepalive_ms');
  r.end('OK inner');
  return { maxFrame, keepaliveMs };
}

export function encodeRefused(code: number): Uint8Array {
  return new Writer(2).u16(code).finish();
}

export function decodeRefused(b: Uint8Array): number {
  const r = new Reader(b);
  const code = r.u16('REFUSED code');
  r.end('REFUSED');
  return code;
}

export interface Relay {
  readonly stitchId: number;
  readonly payload: Uint8Array;
}

/** RELAY payload: stitch_id u32 || opaque E2E bytes (may be empty; the E2E layer judges). */
export function decodeRelay(b: Uint8Array): Relay {
  const r = new Reader(b);
  const stitchId = r.u32('RELAY stitch_id');
  return { stitchId, payload: r.rest() };
}

export function encodeRelay(m: Relay): Uint8Array {
  return new Writer(4 + m.payload.length).u32(m.stitchId).bytes(m.payload).finish();
}
