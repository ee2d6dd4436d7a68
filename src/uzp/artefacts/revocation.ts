// Revocation list: identities (CIDs) and artefacts (object_ids) the domain no longer trusts
// (draft §13: "Pantheon policy that can revoke identities and Grants quickly").
//   b = {"cids": [bstr32...], "ids": [bstr32...]}  (both present, may be empty, no duplicates)

import { asArray, asBytes, asMap, onlyKeys } from '../cbor.js';
import type { BodyCodec } from './codec.js';
import { assertUniqueBytes } from './fields.js';
import type { RevocationBody } from './types.js';

/** Per-list item bound; the 64 KiB envelope bound (about 1,800 entries of 35 bytes in total) is the real limit. */
const MAX_REVOKED = 2048;

function ids(v: Parameters<typeof asArray>[0], what: string): Uint8Array[] {
  const list = asArray(v, what, MAX_REVOKED).map((x, i) => asBytes(x, `${what}[${i}]`, 32));
  assertUniqueBytes(list, what);
  return list;
}

export const revocationCodec: BodyCodec<RevocationBody> = {
  type: 'revocation',
  subject: 'forbidden',
  audience: 'forbidden',
  knownExtensions: [],

  encode(body) {
    return { cids: [...body.cids], ids: [...body.objectIds] };
  },

  decode(b) {
    const m = asMap(b, 'revocation.b');
    onlyKeys(m, ['cids', 'ids'], 'revocation.b');
    return { cids: ids(m.cids, 'revocation.b.cids'), objectIds: ids(m.ids, 'revocation.b.ids') };
  },

  check() {
    // No cross-field invariant.
  },
};
