// Grant: authorises the subject (initiator, e.g. an operator) to reach the audience (responder,
// e.g. a gateway) for listed purposes within HIL scopes (draft §4.3: a HIL must not generalise
// the authority of the attached system, so each scope names a slot and may name its device).
//   b = {"scopes": [ {"slot": text, "dev"?: text, "purp": [purpose, ...]} ... ],
//        "nonce": uint, "ed": bool, "nr": bool}
//   purpose = {"p": text, "u"?: [u8...], "tb"?: [table...], "r"?: [[u16,u16]...], "t"?: [text...]}
// One Grant may reach several slots of one gateway, each with its own purposes; slots are unique.
// A modbus purpose covers the tables it names in "tb" and, without "tb", holding registers only.
// Profile version 1 Grants ({"purp", "scope": {"slot"?, "dev"?}, ...}, one scope for all purposes)
// are still read: as one scope, or none when they named no slot (they granted no slot then either).
// draft §9: early data (ed) is bound to a monotonically increasing Grant nonce, and "no-replay"
// (nr) forbids 0-RTT entirely, so ed && nr together is refused (GRANT_FLAGS).

import { isTopicFilter } from '../../lib/mqtt-topics.js';
import { isModbusTable, type ModbusTable } from '../../lib/modbus-tables.js';
import { asArray, asBool, asMap, asUint, onlyKeys, type CborMap, type CborValue } from '../cbor.js';
import { ErrorCode, ValidationError } from '../errors.js';
import type { BodyCodec } from './codec.js';
import { MAX_TEXT } from './constants.js';
import { asName, optionalList } from './fields.js';
import type { GrantBody, GrantScope, Purpose } from './types.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';

const MAX_PURPOSES = 64;
const MAX_SCOPES = 64;
const MAX_RANGES = 256;
const MAX_UNITS = 256;
const MAX_TOPICS = 64;
/** Purpose names: dotted lowercase words, e.g. "modbus.write". */
export const PURPOSE_PATTERN = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;

function decodePurpose(v: CborValue, what: string): Purpose {
  const m = asMap(v, what);
  onlyKeys(m, ['p', 'r', 'u', 'tb', 't'], what);
  const purpose = asName(m.p, `${what}.p`, 64, PURPOSE_PATTERN);
  const r = optionalList(m.r, `${what}.r`, MAX_RANGES);
  const u = optionalList(m.u, `${what}.u`, MAX_UNITS);
  const tb = optionalList(m.tb, `${what}.tb`, 4);
  const t = optionalList(m.t, `${what}.t`, MAX_TOPICS);
  const out: { -readonly [K in keyof Purpose]: Purpose[K] } = { purpose };
  if (r !== undefined) {
    out.registers = r.map((pair, i) => {
      const p = asArray(pair, `${what}.r[${i}]`, 2);
      if (p.length !== 2) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}.r[${i}]: expected [first, last]`);
      const first = asU(p[0], 0xffff, `${what}.r[${i}][0]`);
      const last = asU(p[1], 0xffff, `${what}.r[${i}][1]`);
      if (first > last) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}.r[${i}]: first ${first} > last ${last}`);
      return [first, last] as const;
    });
  }
  if (u !== undefined) out.units = u.map((x, i) => asU(x, 0xff, `${what}.u[${i}]`));
  if (tb !== undefined) {
    const tables: ModbusTable[] = [];
    tb.forEach((x, i) => {
      const s = asName(x, `${what}.tb[${i}]`, 16);
      if (!isModbusTable(s)) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}.tb[${i}]: ${JSON.stringify(s)} is not holding|input|coils|discrete`);
      if (tables.includes(s)) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}.tb[${i}]: ${s} listed twice`);
      tables.push(s);
    });
    out.tables = tables;
  }
  if (t !== undefined) {
    out.topics = t.map((x, i) => {
      const s = asName(x, `${what}.t[${i}]`, MAX_TEXT);
      if (!isTopicFilter(s)) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}.t[${i}]: not an MQTT topic filter`);
      return s;
    });
  }
  return out;
}

function asU(v: CborValue | undefined, max: number, what: string): number {
  const n = asUint(v, what);
  if (n > max) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}: ${n} exceeds ${max}`);
  return n;
}

function encodePurpose(p: Purpose): CborMap {
  const m: CborMap = { p: p.purpose };
  if (p.registers !== undefined && p.registers.length > 0) m.r = p.registers.map(([a, b]) => [a, b]);
  if (p.units !== undefined && p.units.length > 0) m.u = [...p.units];
  if (p.tables !== undefined && p.tables.length > 0) m.tb = [...p.tables];
  if (p.topics !== undefined && p.topics.length > 0) m.t = [...p.topics];
  return m;
}

function decodePurposes(v: CborValue | undefined, what: string): Purpose[] {
  const purp = asArray(v, what, MAX_PURPOSES);
  if (purp.length === 0) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}: at least one purpose`);
  return purp.map((p, i) => decodePurpose(p, `${what}[${i}]`));
}

function decodeScopes(v: CborValue | undefined): GrantScope[] {
  const list = asArray(v, 'grant.b.scopes', MAX_SCOPES);
  if (list.length === 0) throw new DecodeError(CommonCode.DECODE_VALUE, 'grant.b.scopes: a Grant names at least one slot');
  const seen = new Set<string>();
  return list.map((item, i) => {
    const what = `grant.b.scopes[${i}]`;
    const m = asMap(item, what);
    onlyKeys(m, ['slot', 'dev', 'purp'], what);
    const slot = asName(m.slot, `${what}.slot`, MAX_TEXT);
    if (seen.has(slot)) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}.slot: ${JSON.stringify(slot)} appears twice; give each slot one scope`);
    seen.add(slot);
    return { slot, ...(m.dev !== undefined ? { device: asName(m.dev, `${what}.dev`, MAX_TEXT) } : {}), purposes: decodePurposes(m.purp, `${what}.purp`) };
  });
}

/** Profile version 1: one optional {"slot", "dev"} scope for the whole purpose list. */
function decodeLegacyScopes(m: CborMap): GrantScope[] {
  const purposes = decodePurposes(m.purp, 'grant.b.purp');
  const s = asMap(m.scope, 'grant.b.scope');
  onlyKeys(s, ['slot', 'dev'], 'grant.b.scope');
  if (s.slot === undefined) {
    if (s.dev !== undefined) asName(s.dev, 'grant.b.scope.dev', MAX_TEXT);
    return []; // version 1 already granted no slot without a slot
  }
  return [{ slot: asName(s.slot, 'grant.b.scope.slot', MAX_TEXT), ...(s.dev !== undefined ? { device: asName(s.dev, 'grant.b.scope.dev', MAX_TEXT) } : {}), purposes }];
}

function checkFlags(body: GrantBody): void {
  // draft §9: if policy says no-replay, endpoints MUST NOT use 0-RTT under that Grant.
  if (body.earlyData && body.noReplay) throw new ValidationError(ErrorCode.GRANT_FLAGS, 'grant: early data and no-replay exclude each other (draft §9)');
}

export const grantCodec: BodyCodec<GrantBody> = {
  type: 'grant',
  subject: 'required',
  audience: 'required',
  knownExtensions: [],

  encode(body) {
    checkFlags(body);
    if (body.scopes.length === 0) throw new ValidationError(ErrorCode.GRANT_SCOPE, 'grant: name at least one slot (a Grant without a slot grants nothing)');
    const slots = new Set(body.scopes.map((s) => s.slot));
    if (slots.size !== body.scopes.length) throw new ValidationError(ErrorCode.GRANT_SCOPE, 'grant: each slot once (merge the purposes of a repeated slot)');
    const scopes = body.scopes.map((s): CborMap => ({ slot: s.slot, ...(s.device !== undefined ? { dev: s.device } : {}), purp: s.purposes.map(encodePurpose) }));
    return { scopes, nonce: body.nonce, ed: body.earlyData, nr: body.noReplay };
  },

  decode(b) {
    const m = asMap(b, 'grant.b');
    const legacy = m.scopes === undefined && (m.purp !== undefined || m.scope !== undefined);
    onlyKeys(m, legacy ? ['purp', 'scope', 'nonce', 'ed', 'nr'] : ['scopes', 'nonce', 'ed', 'nr'], 'grant.b');
    return {
      scopes: legacy ? decodeLegacyScopes(m) : decodeScopes(m.scopes),
      nonce: asUint(m.nonce, 'grant.b.nonce'),
      earlyData: asBool(m.ed, 'grant.b.ed'),
      noReplay: asBool(m.nr, 'grant.b.nr'),
    };
  },

  check(_provider, _common, body) {
    checkFlags(body);
  },
};
