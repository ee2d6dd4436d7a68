// Grant: authorises the subject (initiator, e.g. an operator) to reach the audience (responder,
// e.g. a gateway) for listed purposes within a HIL scope (draft §4.3: a HIL must not generalise
// the authority of the attached system, so the scope names the slot and device).
//   b = {"purp": [ {"p": text, "r"?: [[u16,u16]...], "u"?: [u8...], "t"?: [text...]} ... ],
//        "scope": {"slot"?: text, "dev"?: text}, "nonce": uint, "ed": bool, "nr": bool}
// draft §9: early data (ed) is bound to a monotonically increasing Grant nonce, and "no-replay"
// (nr) forbids 0-RTT entirely, so ed && nr together is refused (GRANT_FLAGS).

import { isTopicFilter } from '../../lib/mqtt-topics.js';
import { asArray, asBool, asMap, asUint, onlyKeys, type CborMap, type CborValue } from '../cbor.js';
import { ErrorCode, ValidationError } from '../errors.js';
import type { BodyCodec } from './codec.js';
import { MAX_TEXT } from './constants.js';
import { asName, optionalList } from './fields.js';
import type { GrantBody, GrantScope, Purpose } from './types.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';

const MAX_PURPOSES = 64;
const MAX_RANGES = 256;
const MAX_UNITS = 256;
const MAX_TOPICS = 64;
/** Purpose names: dotted lowercase words, e.g. "modbus.write". */
export const PURPOSE_PATTERN = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;

function decodePurpose(v: CborValue, what: string): Purpose {
  const m = asMap(v, what);
  onlyKeys(m, ['p', 'r', 'u', 't'], what);
  const purpose = asName(m.p, `${what}.p`, 64, PURPOSE_PATTERN);
  const r = optionalList(m.r, `${what}.r`, MAX_RANGES);
  const u = optionalList(m.u, `${what}.u`, MAX_UNITS);
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
  if (p.topics !== undefined && p.topics.length > 0) m.t = [...p.topics];
  return m;
}

function decodeScope(v: CborValue | undefined): GrantScope {
  const m = asMap(v, 'grant.b.scope');
  onlyKeys(m, ['slot', 'dev'], 'grant.b.scope');
  return {
    ...(m.slot !== undefined ? { slot: asName(m.slot, 'grant.b.scope.slot', MAX_TEXT) } : {}),
    ...(m.dev !== undefined ? { device: asName(m.dev, 'grant.b.scope.dev', MAX_TEXT) } : {}),
  };
}

export const grantCodec: BodyCodec<GrantBody> = {
  type: 'grant',
  subject: 'required',
  audience: 'required',
  knownExtensions: [],

  encode(body) {
    if (body.earlyData && body.noReplay) throw new ValidationError(ErrorCode.GRANT_FLAGS, 'grant: early data and no-replay exclude each other (draft §9)');
    const scope: CborMap = {};
    if (body.scope.slot !== undefined) scope.slot = body.scope.slot;
    if (body.scope.device !== undefined) scope.dev = body.scope.device;
    return { purp: body.purposes.map(encodePurpose), scope, nonce: body.nonce, ed: body.earlyData, nr: body.noReplay };
  },

  decode(b) {
    const m = asMap(b, 'grant.b');
    onlyKeys(m, ['purp', 'scope', 'nonce', 'ed', 'nr'], 'grant.b');
    const purp = asArray(m.purp, 'grant.b.purp', MAX_PURPOSES);
    if (purp.length === 0) throw new DecodeError(CommonCode.DECODE_VALUE, 'grant.b.purp: a Grant names at least one purpose');
    return {
      purposes: purp.map((p, i) => decodePurpose(p, `grant.b.purp[${i}]`)),
      scope: decodeScope(m.scope),
      nonce: asUint(m.nonce, 'grant.b.nonce'),
      earlyData: asBool(m.ed, 'grant.b.ed'),
      noReplay: asBool(m.nr, 'grant.b.nr'),
    };
  },

  check(_provider, _common, body) {
    // draft §9: if policy says no-replay, endpoints MUST NOT use 0-RTT under that Grant.
    if (body.earlyData && body.noReplay) throw new ValidationError(ErrorCode.GRANT_FLAGS, 'grant: early data and no-replay exclude each other (draft §9)');
  },
};
