// `pantheon show FILE`: an artefact as JSON: common fields, object_id, the decoded body, validity at
// `now`, and — with a trust domain — whether the signatures verify against its root. Inspection
// only: no nonce state, no revocation list. The fields this file names that are bytes by definition
// (object_id, issuer, kid, a PCert's public key, an RN Set's CIDs…) are lowercase hex; CBOR it shows
// as it finds it (an extension's value, the wire map of a body without its own rendering) has its
// byte strings marked (uzp/cbor-marked.ts: `K_hex`, `{"hex": …}`): there bare hex printed like text.

import { naming } from '../lib/errors.js';
import { readArtefactFile } from '../files/artefact-file.js';
import { loadTrustAnchor } from '../files/trust-anchor.js';
import { codecFor, type CodecType } from '../uzp/artefacts/codecs.js';
import { decodeEnvelope } from '../uzp/artefacts/envelope.js';
import { openArtefact, verifySignatures } from '../uzp/artefacts/open.js';
import type { GrantBody, PCertBody, RevocationBody, RnSetBody } from '../uzp/artefacts/types.js';
import { decodeCanonical, type Json } from '../uzp/cbor.js';
import { markedField, markedJson } from '../uzp/cbor-marked.js';
import { equal, toHex } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { trustPath } from './domain.js';
import { formatPurpose } from './purpose-spec.js';
import { isCodedError } from '../lib/errors.js';

function bodyJson(type: string, body: unknown): Json {
  switch (type) {
    case 'pcert': {
      const b = body as PCertBody;
      return { public: toHex(b.publicKey), role: b.role, ...(b.name !== undefined ? { name: b.name } : {}) };
    }
    case 'grant': {
      const b = body as GrantBody;
      return {
        scopes: b.scopes.map((s) => ({ slot: s.slot, ...(s.device !== undefined ? { device: s.device } : {}), purposes: s.purposes.map(formatPurpose) })),
        nonce: b.nonce,
        early_data: b.earlyData,
        no_replay: b.noReplay,
      };
    }
    case 'rn-set': {
      const b = body as RnSetBody;
      return { scope: b.scope, rns: b.rns.map((e) => ({ cid: toHex(e.cid), public: toHex(e.publicKey), addresses: [...e.addresses], roles: [...e.roles] })) };
    }
    case 'revocation': {
      const b = body as RevocationBody;
      return { cids: b.cids.map(toHex), object_ids: b.objectIds.map(toHex) };
    }
    default:
      // Other typed bodies (por-evidence, discovery-grant, receipt, discovery-revocation): their wire map.
      return markedJson(codecFor(type as CodecType).encode(body as never));
  }
}

export function show(provider: CryptoProvider, file: string, opts: { dir?: string; nowMs: number }): { [k: string]: Json } {
  const raw = naming(file, () => decodeEnvelope(provider, readArtefactFile(file)));
  const now = Math.floor(opts.nowMs / 1000);
  const out: { [k: string]: Json } = {
    file,
    type: raw.type,
    object_id: toHex(raw.objectId),
    issuer: toHex(raw.issuer),
    ...(raw.subject !== undefined ? { subject: toHex(raw.subject) } : {}),
    ...(raw.audience !== undefined ? { audience: toHex(raw.audience) } : {}),
    issued_at: raw.issuedAt,
    not_before: raw.notBefore,
    expires_at: raw.expiresAt,
    epoch: raw.epoch,
    sequence: raw.sequence,
    extensions: raw.extensions.map((e) => ({ id: e.id, critical: e.critical, ...markedField('value', decodeCanonical(e.value)) })),
    signatures: raw.signatures.map((s) => ({ alg: s.alg, kid: toHex(s.kid) })),
    validity: now < raw.notBefore ? 'not-yet-valid' : now > raw.expiresAt ? 'expired' : 'valid',
  };
  const codec = codecFor(raw.type);
  if (codec === undefined) out.body = markedJson(raw.body);
  else {
    try {
      out.body = bodyJson(raw.type, openArtefact(provider, raw.bytes, codec.type as 'pcert').body);
    } catch (e) {
      if (!isCodedError(e)) throw e;
      out.body = markedJson(raw.body);
      out.problem = { code: e.code, message: e.message };
    }
  }
  if (opts.dir === undefined) out.signature = 'not-checked';
  else {
    const anchor = loadTrustAnchor(provider, trustPath(opts.dir));
    out.issued_by_root = equal(raw.issuer, anchor.rootCid);
    try {
      verifySignatures(provider, raw, (kid) => (equal(kid, anchor.rootCid) ? anchor.rootPublicKey : undefined));
      out.signature = 'valid';
    } catch (e) {
      if (!isCodedError(e)) throw e;
      out.signature = e.code === 'SIG_UNKNOWN_SIGNER' ? 'unknown-signer' : 'invalid';
    }
  }
  return out;
}
