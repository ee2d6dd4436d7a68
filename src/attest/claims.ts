// The claims set of our eat_profile in deterministic CBOR (docs/PROFILE.md §Attestation, "claims").
// Text keys with RFC 9711 claim names (the JSON names, since this profile's CBOR maps are text-keyed
// like every other artefact body here):
//   {"eat_profile": text, "eat_nonce": bstr 8..64, "ueid": bstr33 (0x01 || CID), "iat": uint,
//    "oemid": bstr3|16, "hwmodel": text, "hwversion": text, "board": text, "dtmodel"?: text,
//    "swname": text, "swversion": text,
//    "measurements": {"bundle": bundle, "lockfile": bstr32, "node": text, "runtime": runtime,
//                     "config": bstr32, "board": bstr32},
//    "dbgstat": "enabled"|"disabled", "bootseed": bstr32, "binding"?: bstr32,
//    "key_origin": "software"|"tpm", "submods": {slot: slot}}

import { asBytes, asMap, asText, asUint, onlyKeys, type CborMap } from '../uzp/cbor.js';
import { CID_LENGTH } from '../uzp/identity/cid.js';
import { decodeBundle, decodeOemid, decodeRuntime, decodeSlots, encodeBundle, encodeRuntime, encodeSlots, MAX_NAME } from './cbor-parts.js';
import { BINDING_LENGTH, DIGEST_LENGTH, EAT_PROFILE, MAX_NONCE_BYTES, MIN_NONCE_BYTES, type Claims, type Measurements } from './types.js';
import { CommonCode, DecodeError } from '../lib/errors.js';

/** RFC 9711 §4.2.1.1 UEID type byte for a random (here: hash-derived) identifier. */
const UEID_TYPE_RAND = 0x01;
const UEID_LENGTH = 1 + CID_LENGTH;

const CLAIM_KEYS = [
  'eat_profile', 'eat_nonce', 'ueid', 'iat', 'oemid', 'hwmodel', 'hwversion', 'board', 'dtmodel', 'swname', 'swversion',
  'measurements', 'dbgstat', 'bootseed', 'binding', 'key_origin', 'submods',
] as const;
const MEASUREMENT_KEYS = ['bundle', 'lockfile', 'node', 'runtime', 'config', 'board'] as const;

export function ueidOf(cid: Uint8Array): Uint8Array {
  const u = new Uint8Array(UEID_LENGTH);
  u[0] = UEID_TYPE_RAND;
  u.set(cid, 1);
  return u;
}

export function encodeClaims(c: Claims): CborMap {
  const m: CborMap = {
    eat_profile: c.eat_profile,
    eat_nonce: c.eat_nonce,
    ueid: c.ueid,
    iat: c.iat,
    oemid: c.oemid,
    hwmodel: c.hwmodel,
    hwversion: c.hwversion,
    board: c.board,
    swname: c.swname,
    swversion: c.swversion,
    measurements: {
      bundle: encodeBundle(c.measurements.bundle),
      lockfile: c.measurements.lockfile,
      node: c.measurements.node,
      runtime: encodeRuntime(c.measurements.runtime),
      config: c.measurements.config,
      board: c.measurements.board,
    },
    dbgstat: c.dbgstat,
    bootseed: c.bootseed,
    key_origin: c.key_origin,
    submods: encodeSlots(c.submods),
  };
  if (c.dtmodel !== undefined) m.dtmodel = c.dtmodel;
  if (c.binding !== undefined) m.binding = c.binding;
  return m;
}

function oneOf<T extends string>(v: unknown, what: string, allowed: readonly T[]): T {
  const s = asText(v as never, what, 32);
  if (!(allowed as readonly string[]).includes(s)) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}: expected one of ${allowed.join('|')}, got ${JSON.stringify(s)}`);
  return s as T;
}

function decodeMeasurements(v: CborMap[string] | undefined): Measurements {
  const m = asMap(v, 'measurements');
  onlyKeys(m, MEASUREMENT_KEYS, 'measurements');
  return {
    bundle: decodeBundle(m.bundle, 'measurements.bundle'),
    lockfile: asBytes(m.lockfile, 'measurements.lockfile', DIGEST_LENGTH),
    node: asText(m.node, 'measurements.node', 32),
    runtime: decodeRuntime(m.runtime, 'measurements.runtime'),
    config: asBytes(m.config, 'measurements.config', DIGEST_LENGTH),
    board: asBytes(m.board, 'measurements.board', DIGEST_LENGTH),
  };
}

/** Throws DecodeError only. */
export function decodeClaims(m: CborMap): Claims {
  onlyKeys(m, CLAIM_KEYS, 'claims');
  const profile = asText(m.eat_profile, 'eat_profile', 256);
  if (profile !== EAT_PROFILE) throw new DecodeError(CommonCode.DECODE_VALUE, `eat_profile: expected ${EAT_PROFILE}, got ${JSON.stringify(profile)}`);
  const nonce = asBytes(m.eat_nonce, 'eat_nonce');
  if (nonce.length < MIN_NONCE_BYTES || nonce.length > MAX_NONCE_BYTES) {
    throw new DecodeError(CommonCode.DECODE_LENGTH, `eat_nonce: ${nonce.length} bytes, expected ${MIN_NONCE_BYTES}..${MAX_NONCE_BYTES}`);
  }
  const ueid = asBytes(m.ueid, 'ueid', UEID_LENGTH);
  if (ueid[0] !== UEID_TYPE_RAND) throw new DecodeError(CommonCode.DECODE_VALUE, `ueid: type byte 0x${ueid[0]!.toString(16)}, expected 0x01`);
  return {
    eat_profile: profile,
    eat_nonce: nonce,
    ueid,
    iat: asUint(m.iat, 'iat'),
    oemid: decodeOemid(m.oemid, 'oemid'),
    hwmodel: asText(m.hwmodel, 'hwmodel', MAX_NAME),
    hwversion: asText(m.hwversion, 'hwversion', 64),
    board: asText(m.board, 'board', 64),
    ...(m.dtmodel !== undefined ? { dtmodel: asText(m.dtmodel, 'dtmodel', MAX_NAME) } : {}),
    swname: asText(m.swname, 'swname', MAX_NAME),
    swversion: asText(m.swversion, 'swversion', 64),
    measurements: decodeMeasurements(m.measurements),
    dbgstat: oneOf(m.dbgstat, 'dbgstat', ['enabled', 'disabled'] as const),
    bootseed: asBytes(m.bootseed, 'bootseed', DIGEST_LENGTH),
    ...(m.binding !== undefined ? { binding: asBytes(m.binding, 'binding', BINDING_LENGTH) } : {}),
    key_origin: oneOf(m.key_origin, 'key_origin', ['software', 'tpm'] as const),
    submods: decodeSlots(m.submods, 'submods'),
  };
}
