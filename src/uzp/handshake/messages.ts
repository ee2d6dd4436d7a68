// End-to-end handshake messages (draft §5.2 flights [1], [3], [5]), relayed opaquely by the RN.
// The draft leaves bytes to profiles (§5.1); ours are documented in docs/PROFILE.md §Handshake.
// The first byte of every E2E relay payload is a message type: 0x01-0x03 here, 0x10-0x13 blocks.

import { Reader, Writer } from '../bytes.js';
import { MLKEM768_CIPHERTEXT_LENGTH, MLKEM768_PUBLIC_LENGTH } from '../crypto/provider.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';

const MSG_CH1 = 0x01;
const MSG_SH = 0x02;
const MSG_FINISHED = 0x03;
const HANDSHAKE_VERSION = 1;

const MAX_SUITES = 8;
const MAX_EXTENSIONS = 16;
const MAX_EXTENSION_BYTES = 16 * 1024;
const MAX_PCERT_BYTES = 4 * 1024;
const MAX_SEALED_BYTES = 64 * 1024;

/** Extension types. 0x0001 is the attestation evidence slot (filled by the attestation issue). */
export const EXT_ATTESTATION = 0x0001;
/**
 * Continuity and PoR (draft §11.4, §12): data = u8 version (1). Sent in CH1 by an initiator that can
 * re-stitch, echoed in EE by a responder that can; only when both did does the session keep itself
 * across RN loss and run PoR on channel 0 (docs/PROFILE.md §Continuity).
 */
export const EXT_CONTINUITY = 0x0002;
/**
 * Standby stitches (draft §11.1, §11.4, §12.3): data = u8 version (1). Sent next to EXT_CONTINUITY
 * by an endpoint that keeps (initiator) or holds (responder) a second, pre-verified stitch at
 * another RN; only when both did does the initiator make one (docs/PROFILE.md §Standby stitch).
 */
export const EXT_STANDBY = 0x0003;
/**
 * 0-RTT (draft §9): in CH1 empty (asks for a resumption ticket) or a ticket (early data follows in
 * the EARLY_CH1 container); in EE the responder's answer (resumption/early-data.ts).
 */
export const EXT_EARLY_DATA = 0x0004;

export interface HandshakeExtension {
  readonly type: number;
  readonly data: Uint8Array;
}

/** [1] CH1: ClientHello_I with EID_I (key shares), the initiator's PCert, the Grant reference, the EID binding. */
interface ClientHello {
  readonly random: Uint8Array; // 32
  readonly suites: readonly number[];
  readonly x25519: Uint8Array; // 32
  readonly mlkem: Uint8Array; // 0 or 1184: present iff a hybrid suite is offered
  readonly target: Uint8Array; // responder CID, 32
  readonly grantId: Uint8Array; // object_id of the Grant sent in the Join, 32
  readonly pcert: Uint8Array;
  readonly extensions: readonly HandshakeExtension[];
  /** Ed25519 by the initiator identity key over the encoding up to (not including) this field. */
  readonly signature: Uint8Array; // 64
}

/** [3] SH header in clear; EE, CERT_R and FIN_R follow sealed under the responder handshake key. */
interface ServerHello {
  readonly random: Uint8Array;
  readonly suite: number;
  readonly x25519: Uint8Array;
  readonly mlkemCipherText: Uint8Array; // 0 or 1088
  readonly sealed: Uint8Array;
}

/** EE: transport parameters and extensions of the responder. */
interface EncryptedExtensions {
  readonly maxBlockPlaintext: number;
  readonly windowBlocks: number;
  readonly extensions: readonly HandshakeExtension[];
}

export interface CertificateVerify {
  readonly pcert: Uint8Array;
  readonly signature: Uint8Array; // 64
}

function writeExtensions(w: Writer, exts: readonly HandshakeExtension[]): void {
  if (exts.length > MAX_EXTENSIONS) throw new RangeError(`at most ${MAX_EXTENSIONS} extensions`);
  w.u8(exts.length);
  for (const e of exts) w.u16(e.type).vec16(e.data);
}

function readExtensions(r: Reader): HandshakeExtension[] {
  const n = r.u8('extension count');
  if (n > MAX_EXTENSIONS) throw new DecodeError(CommonCode.DECODE_LENGTH, `extension count ${n} exceeds ${MAX_EXTENSIONS}`);
  const out: HandshakeExtension[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) {
    const type = r.u16('extension type');
    if (seen.has(type)) throw new DecodeError(CommonCode.DECODE_VALUE, `duplicate extension 0x${type.toString(16)}`);
    seen.add(type);
    out.push({ type, data: r.vec16(MAX_EXTENSION_BYTES, 'extension data') });
  }
  return out;
}

/** The signed part of CH1 (everything but the trailing signature). */
export function encodeClientHelloBody(m: Omit<ClientHello, 'signature'>): Uint8Array {
  if (m.suites.length === 0 || m.suites.length > MAX_SUITES) throw new RangeError(`1..${MAX_SUITES} suites`);
  const w = new Writer(512 + m.mlkem.length + m.pcert.length);
  w.u8(MSG_CH1).u8(HANDSHAKE_VERSION).bytes(m.random);
  w.u8(m.suites.length);
  for (const s of m.suites) w.u16(s);
  w.bytes(m.x25519).vec16(m.mlkem).bytes(m.target).bytes(m.grantId).vec16(m.pcert);
  writeExtensions(w, m.extensions);
  return w.finish();
}

export function encodeClientHello(m: ClientHello): Uint8Array {
  const body = encodeClientHelloBody(m);
  const out = new Uint8Array(body.length + 64);
  out.set(body);
  out.set(m.signature, body.length);
  return out;
}

export function decodeClientHello(b: Uint8Array): { hello: ClientHello; signedPart: Uint8Array } {
  const r = new Reader(b);
  if (r.u8('type') !== MSG_CH1) throw new DecodeError(CommonCode.DECODE_TYPE, 'not a CH1');
  const version = r.u8('version');
  if (version !== HANDSHAKE_VERSION) throw new DecodeError(CommonCode.DECODE_VALUE, `unsupported handshake version ${version}`);
  const random = r.bytes(32, 'random');
  const ns = r.u8('suite count');
  if (ns === 0 || ns > MAX_SUITES) throw new DecodeError(CommonCode.DECODE_LENGTH, `suite count ${ns} not in 1..${MAX_SUITES}`);
  const suites: number[] = [];
  for (let i = 0; i < ns; i++) suites.push(r.u16('suite'));
  const x25519 = r.bytes(32, 'x25519 share');
  const mlkem = r.vec16(MLKEM768_PUBLIC_LENGTH, 'ml-kem share');
  if (mlkem.length !== 0 && mlkem.length !== MLKEM768_PUBLIC_LENGTH) {
    throw new DecodeError(CommonCode.DECODE_LENGTH, `ml-kem share: expected 0 or ${MLKEM768_PUBLIC_LENGTH} bytes, got ${mlkem.length}`);
  }
  const target = r.bytes(32, 'target cid');
  const grantId = r.bytes(32, 'grant id');
  const pcert = r.vec16(MAX_PCERT_BYTES, 'pcert');
  const extensions = readExtensions(r);
  const signedLen = r.offset;
  const signature = r.bytes(64, 'signature');
  r.end('CH1');
  return {
    hello: { random, suites, x25519, mlkem, target, grantId, pcert, extensions, signature },
    signedPart: b.subarray(0, signedLen),
  };
}

/** SH header: the part of flight [3] that is in clear and enters the transcript before keys exist. */
export function encodeServerHelloHeader(m: Omit<ServerHello, 'sealed'>): Uint8Array {
  return new Writer(80 + m.mlkemCipherText.length)
    .u8(MSG_SH)
    .u8(HANDSHAKE_VERSION)
    .bytes(m.random)
    .u16(m.suite)
    .bytes(m.x25519)
    .vec16(m.mlkemCipherText)
    .finish();
}

export function encodeServerHello(m: ServerHello): Uint8Array {
  const header = encodeServerHelloHeader(m);
  return new Writer(header.length + 4 + m.sealed.length).bytes(header).vec32(m.sealed).finish();
}

export function decodeServerHello(b: Uint8Array): { hello: ServerHello; header: Uint8Array } {
  const r = new Reader(b);
  if (r.u8('type') !== MSG_SH) throw new DecodeError(CommonCode.DECODE_TYPE, 'not an SH flight');
  const version = r.u8('version');
  if (version !== HANDSHAKE_VERSION) throw new DecodeError(CommonCode.DECODE_VALUE, `unsupported handshake version ${version}`);
  const random = r.bytes(32, 'random');
  const suite = r.u16('suite');
  const x25519 = r.bytes(32, 'x25519 share');
  const mlkemCipherText = r.vec16(MLKEM768_CIPHERTEXT_LENGTH, 'ml-kem ciphertext');
  if (mlkemCipherText.length !== 0 && mlkemCipherText.length !== MLKEM768_CIPHERTEXT_LENGTH) {
    throw new DecodeError(CommonCode.DECODE_LENGTH, `ml-kem ciphertext: expected 0 or ${MLKEM768_CIPHERTEXT_LENGTH} bytes`);
  }
  const headerLen = r.offset;
  const sealed = r.vec32(MAX_SEALED_BYTES, 'sealed flight');
  r.end('SH flight');
  return { hello: { random, suite, x25519, mlkemCipherText, sealed }, header: b.subarray(0, headerLen) };
}

export function encodeEncryptedExtensions(m: EncryptedExtensions): Uint8Array {
  const w = new Writer(64).u32(m.maxBlockPlaintext).u32(m.windowBlocks);
  writeExtensions(w, m.extensions);
  return w.finish();
}

export function encodeCertificateVerify(m: CertificateVerify): Uint8Array {
  return new Writer(80 + m.pcert.length).vec16(m.pcert).bytes(m.signature).finish();
}

/** The sealed plaintext of flight [3]: EE || CERT_R || FIN_R, each parsed with its own bounds. */
export function decodeResponderFlight(b: Uint8Array): {
  ee: EncryptedExtensions;
  eeBytes: Uint8Array;
  cert: CertificateVerify;
  certBytes: Uint8Array;
  /** CERT_R without the signature: what the signature covers, appended to the transcript. */
  certPcertBytes: Uint8Array;
  finished: Uint8Array;
} {
  const r = new Reader(b);
  const eeStart = r.offset;
  const maxBlockPlaintext = r.u32('max block plaintext');
  const windowBlocks = r.u32('window');
  const extensions = readExtensions(r);
  const eeBytes = b.subarray(eeStart, r.offset);
  const certStart = r.offset;
  const pcert = r.vec16(MAX_PCERT_BYTES, 'pcert');
  const certPcertBytes = b.subarray(certStart, r.offset);
  const signature = r.bytes(64, 'certificate verify');
  const certBytes = b.subarray(certStart, r.offset);
  const finished = r.bytes(32, 'finished');
  r.end('responder flight');
  return { ee: { maxBlockPlaintext, windowBlocks, extensions }, eeBytes, cert: { pcert, signature }, certBytes, certPcertBytes, finished };
}

/** [5] Finished_I: type || sealed(32-byte MAC) under the initiator handshake key. */
export function encodeFinished(sealed: Uint8Array): Uint8Array {
  return new Writer(2 + sealed.length).u8(MSG_FINISHED).bytes(sealed).finish();
}

export function decodeFinished(b: Uint8Array): Uint8Array {
  const r = new Reader(b);
  if (r.u8('type') !== MSG_FINISHED) throw new DecodeError(CommonCode.DECODE_TYPE, 'not a Finished');
  const sealed = r.bytes(32 + 16, 'sealed finished');
  r.end('Finished');
  return sealed;
}
