// RN Set Statement (draft §11.1): the externally verifiable list of Rendezvous Nodes eligible for
// a scope. Endpoints derive RN eligibility from it, never from an RN's own claims.
//   b = {"scope": text, "rns": [ {"cid": bstr32, "pk": bstr32, "addr": [text...], "roles": [text...]} ... ]}
// Each cid must equal CID(pk) (RNSET_KEY_MISMATCH); cids are unique. An address listed under two
// entries (repeatedRnAddress) is not refused here: `pantheon rn-set` will not issue one, and a gateway
// that loads one warns (gateway/rnset-shared-address.ts); refusing it would stop every endpoint of a
// domain whose statement, issued before the rule, has one.

import { equal } from '../bytes.js';
import { asArray, asBytes, asMap, onlyKeys, type CborMap, type CborValue } from '../cbor.js';
import { ED25519_PUBLIC_LENGTH } from '../crypto/provider.js';
import { ErrorCode, ValidationError } from '../errors.js';
import { CID_LENGTH, cidOf } from '../identity/cid.js';
import type { BodyCodec } from './codec.js';
import { MAX_TEXT } from './constants.js';
import { asName, assertUniqueBytes, assertUniqueStrings } from './fields.js';
import type { RnEntry, RnSetBody } from './types.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';

const MAX_RNS = 256;
const MAX_ADDRESSES = 16;
const MAX_ROLES = 16;
export const ROLE_PATTERN = /^[a-z][a-z0-9-]*$/;
/** "host:port", IPv6 literals in brackets; the port is checked separately (1..65535). */
const ADDRESS_PATTERN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):([0-9]{1,5})$/;

/** True for "host:port" with a DNS name, IPv4 or bracketed IPv6 host and a port 1..65535. */
export function isRnAddress(s: string): boolean {
  const m = ADDRESS_PATTERN.exec(s);
  if (m === null) return false;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 && s.length <= 255;
}

/**
 * An address in the form it is dialled, to compare two: the port as a number ("07000" = "7000") and
 * the host as the WHATWG URL host parser writes it: lowercased (DNS names are case-insensitive,
 * RFC 4343 §2), IPv6 literals compressed ("[0:0::1]" = "[::1]"), IPv4 in every spelling the
 * resolver reads as one ("127.1" = "127.000.0.1" = "127.0.0.1"; getaddrinfo's inet_aton rules).
 * Names are not resolved: two names of one host, or a name and its IP, compare different.
 */
export function rnAddressKey(address: string): string {
  const m = ADDRESS_PATTERN.exec(address);
  if (m === null) return address;
  let host = m[1]!.toLowerCase();
  // "[1.2.3.4]" passes the pattern and is dialled as 1.2.3.4 (link/address.ts): the same address.
  if (host.startsWith('[') && !host.includes(':')) host = host.slice(1, -1);
  // Only a host the resolver reads as an IPv4 literal (inet_aton: one to four parts, each decimal,
  // octal or 0x-hex with digits) goes through the URL parser's IPv4 rules: it also takes "0x" and
  // "1.0x" as numbers, which getaddrinfo looks up as names.
  if (host.startsWith('[') || host.split('.').every((part) => /^(0x[0-9a-f]+|[0-9]+)$/.test(part))) {
    try {
      host = new URL(`http://${host}/`).hostname;
    } catch {
      // A host the URL parser refuses ("999.1.1.1", "09.1.1.1") is no IP literal: a name, kept lowercased.
    }
  }
  return `${host}:${Number(m[2])}`;
}

/** Where two entries list one address (by rnAddressKey), the first such pair; undefined when none do. */
export function repeatedRnAddress(rns: readonly Pick<RnEntry, 'addresses'>[]): { first: number; second: number; address: string; spelled: readonly [string, string] } | undefined {
  const seen = new Map<string, { entry: number; spelled: string }>();
  for (const [i, e] of rns.entries()) {
    // Within one entry a repeat is the same RN twice: harmless (exact repeats are refused by decodeEntry).
    const own = new Set<string>();
    for (const a of e.addresses) {
      const key = rnAddressKey(a);
      if (own.has(key)) continue;
      own.add(key);
      const before = seen.get(key);
      if (before !== undefined) return { first: before.entry, second: i, address: key, spelled: [before.spelled, a] };
      seen.set(key, { entry: i, spelled: a });
    }
  }
  return undefined;
}

function decodeEntry(v: CborValue, what: string): RnEntry {
  const m = asMap(v, what);
  onlyKeys(m, ['cid', 'pk', 'addr', 'roles'], what);
  const addr = asArray(m.addr, `${what}.addr`, MAX_ADDRESSES);
  const roles = asArray(m.roles, `${what}.roles`, MAX_ROLES);
  if (addr.length === 0) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}.addr: at least one address`);
  if (roles.length === 0) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}.roles: at least one role`);
  const addresses = addr.map((a, i) => {
    const s = asName(a, `${what}.addr[${i}]`, 255);
    if (!isRnAddress(s)) throw new DecodeError(CommonCode.DECODE_VALUE, `${what}.addr[${i}]: expected host:port, got ${JSON.stringify(s)}`);
    return s;
  });
  const roleNames = roles.map((r, i) => asName(r, `${what}.roles[${i}]`, 32, ROLE_PATTERN));
  assertUniqueStrings(addresses, `${what}.addr`);
  assertUniqueStrings(roleNames, `${what}.roles`);
  return {
    cid: asBytes(m.cid, `${what}.cid`, CID_LENGTH),
    publicKey: asBytes(m.pk, `${what}.pk`, ED25519_PUBLIC_LENGTH),
    addresses,
    roles: roleNames,
  };
}

export const rnSetCodec: BodyCodec<RnSetBody> = {
  type: 'rn-set',
  subject: 'forbidden',
  audience: 'forbidden',
  knownExtensions: [],

  encode(body) {
    return {
      scope: body.scope,
      rns: body.rns.map((e): CborMap => ({ cid: e.cid, pk: e.publicKey, addr: [...e.addresses], roles: [...e.roles] })),
    };
  },

  decode(b) {
    const m = asMap(b, 'rn-set.b');
    onlyKeys(m, ['scope', 'rns'], 'rn-set.b');
    // An empty list is allowed: it is how the domain de-lists every RN at once.
    const rns = asArray(m.rns, 'rn-set.b.rns', MAX_RNS).map((e, i) => decodeEntry(e, `rn-set.b.rns[${i}]`));
    assertUniqueBytes(
      rns.map((e) => e.cid),
      'rn-set.b.rns cid',
    );
    return { scope: asName(m.scope, 'rn-set.b.scope', MAX_TEXT), rns };
  },

  check(provider, _common, body) {
    for (const e of body.rns) {
      if (!equal(e.cid, cidOf(provider, e.publicKey))) throw new ValidationError(ErrorCode.RNSET_KEY_MISMATCH, 'rn-set: an entry cid is not the CID of its pk');
    }
  },
};
