// Receipt (OI draft §11.5): the collector's signed statement, sent back to the gateway, that it
// accepted readings under a Discovery Grant ("accept": which readings, for which purposes) or that it
// acted on a revocation ("revoke": how many readings it deleted and how many it keeps under the
// retention the grant stated, OI §11.6). The gateway deletes from its reading log only what signed
// "accept" receipts cover. §11.5 lists what a profile's receipt includes; here: the grant identifier
// ("g", the Discovery Grant's object_id), the content scope ("scope", slots), the declared processing
// purposes ("purp"), timestamps ("at_ms"; the envelope's iat/nbf/exp in seconds) and the signed
// Indexer identity (iss = the collector CID, its signature). aud = the gateway CID (required), no sub.
//   b = {"k": "accept" | "revoke", "g": bstr32,
//        "scope"?: [slot text, ...]                         1..64 when present, unique
//        "purp"?:  [text, ...]                              1..16 when present, unique, dotted lowercase
//        "rng"?:   [[slot text, epoch uint, first uint, last uint], ...]   1..4096, first <= last
//        "at_ms": uint, "del"?: uint, "kept"?: uint}
// Empty lists are omitted (fields.ts optionalList: one value, one encoding). "rng" (reading ranges,
// by the reading log's slot, boot epoch and per-slot seq) belongs to "accept" only; "del" and "kept"
// to "revoke" only.

import { asArray, asBytes, asMap, asText, asUint, onlyKeys, type CborMap, type CborValue } from '../cbor.js';
import type { BodyCodec } from './codec.js';
import { MAX_PURPOSE_NAME, MAX_TEXT } from './constants.js';
import { asName, assertUniqueStrings, optionalList } from './fields.js';
import { PURPOSE_PATTERN } from './grant.js';
import type { Envelope } from './types.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';

export const RECEIPT_KINDS = ['accept', 'revoke'] as const;
export type ReceiptKind = (typeof RECEIPT_KINDS)[number];
export const MAX_RECEIPT_SLOTS = 64;
export const MAX_RECEIPT_PURPOSES = 16;
export const MAX_RECEIPT_RANGES = 4096;

/** Readings first..last (inclusive, per-slot seq) of `slot` in boot epoch `epoch`. */
export interface ReceiptRange {
  readonly slot: string;
  readonly epoch: number;
  readonly first: number;
  readonly last: number;
}

export interface ReceiptBody {
  readonly kind: ReceiptKind;
  /** object_id of the Discovery Grant this receipt answers. */
  readonly grantId: Uint8Array;
  /** Slots covered (empty: none named). */
  readonly scope: readonly string[];
  /** Processing purposes declared (empty: none named). */
  readonly purposes: readonly string[];
  /** accept: the readings accepted (empty for revoke). */
  readonly ranges: readonly ReceiptRange[];
  /** When the collector acted, Unix milliseconds. */
  readonly atMs: number;
  /** revoke: readings deleted. */
  readonly deleted?: number;
  /** revoke: readings kept under the retention the grant stated. */
  readonly kept?: number;
}

export type Receipt = Envelope<ReceiptBody>;

/** An optional list of unique names; absent = [] (an empty list is never sent). */
function texts(v: CborValue | undefined, what: string, maxItems: number, maxLen: number, pattern?: RegExp): string[] {
  const list = (optionalList(v, what, maxItems) ?? []).map((x, i) => asName(x, `${what}[${i}]`, maxLen, pattern));
  assertUniqueStrings(list, what);
  return list;
}

function decodeRange(v: CborValue, what: string): ReceiptRange {
  const t = asArray(v, what, 4);
  if (t.length !== 4) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}: expected [slot, epoch, first, last]`);
  const r = { slot: asName(t[0], `${what}[0]`, MAX_TEXT), epoch: asUint(t[1], `${what}[1]`), first: asUint(t[2], `${what}[2]`), last: asUint(t[3], `${what}[3]`) };
  if (r.first > r.last) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}: first ${r.first} > last ${r.last}`);
  return r;
}

export const receiptCodec: BodyCodec<ReceiptBody> = {
  type: 'receipt',
  subject: 'forbidden',
  audience: 'required',
  knownExtensions: [],

  encode(b) {
    const m: CborMap = { k: b.kind, g: b.grantId, at_ms: b.atMs };
    if (b.scope.length > 0) m.scope = [...b.scope];
    if (b.purposes.length > 0) m.purp = [...b.purposes];
    if (b.ranges.length > 0) m.rng = b.ranges.map((r) => [r.slot, r.epoch, r.first, r.last]);
    if (b.deleted !== undefined) m.del = b.deleted;
    if (b.kept !== undefined) m.kept = b.kept;
    return m;
  },

  decode(b) {
    const m = asMap(b, 'receipt.b');
    onlyKeys(m, ['k', 'g', 'scope', 'purp', 'rng', 'at_ms', 'del', 'kept'], 'receipt.b');
    const kind = asText(m.k, 'receipt.b.k', 16);
    if (!(RECEIPT_KINDS as readonly string[]).includes(kind)) throw new DecodeError(CommonCode.DECODE_VALUE, `receipt.b.k: ${JSON.stringify(kind)} is not accept|revoke`);
    // OI §11.5 / §11.6: an accept receipt lists readings taken; a revoke receipt reports deletion.
    if (kind === 'revoke' && m.rng !== undefined) throw new DecodeError(CommonCode.DECODE_VALUE, 'receipt.b.rng: a revoke receipt lists no reading ranges');
    if (kind === 'accept' && (m.del !== undefined || m.kept !== undefined)) {
      throw new DecodeError(CommonCode.DECODE_VALUE, `receipt.b.${m.del !== undefined ? 'del' : 'kept'}: belongs to revoke receipts only`);
    }
    const rng = optionalList(m.rng, 'receipt.b.rng', MAX_RECEIPT_RANGES) ?? [];
    return {
      kind: kind as ReceiptKind,
      grantId: asBytes(m.g, 'receipt.b.g', 32),
      scope: texts(m.scope, 'receipt.b.scope', MAX_RECEIPT_SLOTS, MAX_TEXT),
      purposes: texts(m.purp, 'receipt.b.purp', MAX_RECEIPT_PURPOSES, MAX_PURPOSE_NAME, PURPOSE_PATTERN),
      ranges: rng.map((r, i) => decodeRange(r, `receipt.b.rng[${i}]`)),
      atMs: asUint(m.at_ms, 'receipt.b.at_ms'),
      ...(m.del !== undefined ? { deleted: asUint(m.del, 'receipt.b.del') } : {}),
      ...(m.kept !== undefined ? { kept: asUint(m.kept, 'receipt.b.kept') } : {}),
    };
  },

  check() {
    // Kind rules are structural (decode); the grant binding is the caller's (validate-discovery.ts).
  },
};
