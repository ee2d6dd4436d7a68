// PCert (Pantheon certificate): binds a principal's Ed25519 key to its CID and role (draft §4.4:
// "Pantheon authorities bind a principal's long-term public signing key to identity, policy, and
// trust metadata").  b = {"pk": bstr32, "role": "gateway"|"operator"|"rn"|"collector", "name"?: text}
// and the common "sub" is the CID of pk (checked: PCERT_KEY_MISMATCH). A "collector" is the outbound
// indexing draft's Indexer (OI draft §7.1): it attaches to RNs and takes stitches like a gateway.

import { equal } from '../bytes.js';
import { asBytes, asMap, onlyKeys, type CborMap } from '../cbor.js';
import { ED25519_PUBLIC_LENGTH } from '../crypto/provider.js';
import { ErrorCode, ValidationError } from '../errors.js';
import { cidOf } from '../identity/cid.js';
import type { BodyCodec } from './codec.js';
import { MAX_TEXT } from './constants.js';
import { asName } from './fields.js';
import type { PCertBody, Role } from './types.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';

export const ROLES: readonly Role[] = ['gateway', 'operator', 'rn', 'collector'];

export function isRole(s: string): s is Role {
  return (ROLES as readonly string[]).includes(s);
}

export const pcertCodec: BodyCodec<PCertBody> = {
  type: 'pcert',
  subject: 'required',
  audience: 'forbidden',
  knownExtensions: [],

  encode(body) {
    if (!isRole(body.role)) throw new ValidationError(ErrorCode.PCERT_ROLE, `pcert: unknown role ${JSON.stringify(body.role)}`);
    const m: CborMap = { pk: body.publicKey, role: body.role };
    if (body.name !== undefined) m.name = body.name;
    return m;
  },

  decode(b) {
    const m = asMap(b, 'pcert.b');
    onlyKeys(m, ['pk', 'role', 'name'], 'pcert.b');
    const role = asName(m.role, 'pcert.b.role', 16);
    if (!isRole(role)) throw new DecodeError(CommonCode.DECODE_VALUE, `pcert.b.role: unknown role ${JSON.stringify(role)}`);
    return {
      publicKey: asBytes(m.pk, 'pcert.b.pk', ED25519_PUBLIC_LENGTH),
      role,
      ...(m.name !== undefined ? { name: asName(m.name, 'pcert.b.name', MAX_TEXT) } : {}),
    };
  },

  check(provider, common, body) {
    // draft §4.4: the CID is the hash of this very key; a PCert naming another CID binds nothing.
    if (common.subject === undefined || !equal(common.subject, cidOf(provider, body.publicKey))) {
      throw new ValidationError(ErrorCode.PCERT_KEY_MISMATCH, 'pcert: sub is not the CID of pk');
    }
  },
};
