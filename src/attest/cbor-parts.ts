// CBOR forms of the parts evidence and reference manifests share (docs/PROFILE.md §Attestation):
//   bundle   = {"root": bstr32, "files": uint, "groups": [[name: text, files: uint, root: bstr32], ...]}
//   identity = {"vendor": text, "product": text, "revision": text}
//   slot     = {"device": text, "driver": text, "port": text, "identity"?: identity}
//   runtime  = {"path": text (absolute, 1..1024 bytes), "sha256": bstr32}
// Every decoder is closed (unknown keys refused) and bounded, and throws DecodeError naming the field.

import { asArray, asBytes, asMap, asText, asUint, onlyKeys, type CborMap, type CborValue } from '../uzp/cbor.js';
import type { BundleGroup, BundleMeasurement, DeviceIdentity, RuntimeMeasurement, SlotClaims } from './types.js';
import { DIGEST_LENGTH } from './types.js';
import { CommonCode, DecodeError } from '../lib/errors.js';

/** Bounds a decoder holds to (a bundle has ~100-200 groups; a gateway at most 64 slots). */
const MAX_GROUPS = 4096;
export const MAX_SLOTS = 64;
export const MAX_NAME = 256;
const MAX_IDENTITY_TEXT = 244; // Modbus device id objects are at most 244 bytes

export function encodeBundle(b: BundleMeasurement): CborMap {
  return { root: b.root, files: b.files, groups: b.groups.map((g) => [g.name, g.files, g.root]) };
}

export function decodeBundle(v: CborValue | undefined, what: string): BundleMeasurement {
  const m = asMap(v, what);
  onlyKeys(m, ['root', 'files', 'groups'], what);
  const groups: BundleGroup[] = asArray(m.groups, `${what}.groups`, MAX_GROUPS).map((item, i) => {
    const g = asArray(item, `${what}.groups[${i}]`, 3);
    if (g.length !== 3) throw new DecodeError(CommonCode.DECODE_LENGTH, `${what}.groups[${i}]: expected [name, files, root]`);
    return { name: asText(g[0], `${what}.groups[${i}].name`, MAX_NAME), files: asUint(g[1], `${what}.groups[${i}].files`), root: asBytes(g[2], `${what}.groups[${i}].root`, DIGEST_LENGTH) };
  });
  for (let i = 1; i < groups.length; i++) {
    if (Buffer.compare(Buffer.from(groups[i - 1]!.name), Buffer.from(groups[i]!.name)) >= 0) {
      throw new DecodeError(CommonCode.DECODE_VALUE, `${what}.groups: names must be strictly ascending`);
    }
  }
  return { root: asBytes(m.root, `${what}.root`, DIGEST_LENGTH), files: asUint(m.files, `${what}.files`), groups };
}

/** PATH_MAX-ish: a runtime path longer than this is not one a unit runs. */
const MAX_RUNTIME_PATH = 1024;

export function encodeRuntime(r: RuntimeMeasurement): CborMap {
  return { path: r.path, sha256: r.sha256 };
}

export function decodeRuntime(v: CborValue | undefined, what: string): RuntimeMeasurement {
  const m = asMap(v, what);
  onlyKeys(m, ['path', 'sha256'], what);
  const path = asText(m.path, `${what}.path`, MAX_RUNTIME_PATH);
  if (!path.startsWith('/')) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}.path: expected an absolute path`);
  return { path, sha256: asBytes(m.sha256, `${what}.sha256`, DIGEST_LENGTH) };
}

function encodeIdentity(d: DeviceIdentity): CborMap {
  return { vendor: d.vendor, product: d.product, revision: d.revision };
}

function decodeIdentity(v: CborValue | undefined, what: string): DeviceIdentity {
  const m = asMap(v, what);
  onlyKeys(m, ['vendor', 'product', 'revision'], what);
  return {
    vendor: asText(m.vendor, `${what}.vendor`, MAX_IDENTITY_TEXT),
    product: asText(m.product, `${what}.product`, MAX_IDENTITY_TEXT),
    revision: asText(m.revision, `${what}.revision`, MAX_IDENTITY_TEXT),
  };
}

function encodeSlot(s: SlotClaims): CborMap {
  const m: CborMap = { device: s.device, driver: s.driver, port: s.port };
  if (s.identity !== undefined) m.identity = encodeIdentity(s.identity);
  return m;
}

function decodeSlot(v: CborValue | undefined, what: string): SlotClaims {
  const m = asMap(v, what);
  onlyKeys(m, ['device', 'driver', 'port', 'identity'], what);
  return {
    device: asText(m.device, `${what}.device`, MAX_NAME),
    driver: asText(m.driver, `${what}.driver`, MAX_NAME),
    port: asText(m.port, `${what}.port`, 1024),
    ...(m.identity !== undefined ? { identity: decodeIdentity(m.identity, `${what}.identity`) } : {}),
  };
}

export function encodeSlots(slots: Readonly<Record<string, SlotClaims>>): CborMap {
  const out: CborMap = {};
  for (const [id, s] of Object.entries(slots)) out[id] = encodeSlot(s);
  return out;
}

export function decodeSlots(v: CborValue | undefined, what: string): Record<string, SlotClaims> {
  const m = asMap(v, what);
  const keys = Object.keys(m);
  if (keys.length > MAX_SLOTS) throw new DecodeError(CommonCode.DECODE_LENGTH, `${what}: more than ${MAX_SLOTS} slots`);
  const out: Record<string, SlotClaims> = {};
  for (const k of keys) {
    if (k.length === 0 || k.length > 64) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}: slot id of ${k.length} characters`);
    out[k] = decodeSlot(m[k], `${what}.${k}`);
  }
  return out;
}

/** RFC 9711 §4.2.3 oemid from a board profile's hex (6 digits: IEEE OUI, 32 digits: random). */
export function oemidBytes(hex: string): Uint8Array {
  if (!/^([0-9a-f]{6}|[0-9a-f]{32})$/.test(hex)) throw new RangeError(`oemid: expected 6 or 32 lowercase hex digits, got ${JSON.stringify(hex)}`);
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function decodeOemid(v: CborValue | undefined, what: string): Uint8Array {
  const b = asBytes(v, what);
  if (b.length !== 3 && b.length !== 16) throw new DecodeError(CommonCode.DECODE_LENGTH, `${what}: expected 3 or 16 bytes, got ${b.length}`);
  return b;
}
