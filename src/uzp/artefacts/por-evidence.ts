// A retained Proof-of-Reachability (draft §12.1, §12.7): the "por-evidence" object type in the
// common envelope, written by the verifier for audit after it accepted a PoR response. The
// envelope's subject is the responder, its audience the challenger (§12.1's suggested mapping),
// its issuer the verifier that signs the record; iat/nbf/exp are the challenge's issue and expiry
// times in seconds. The body carries every field the proof covers, so an auditor holding the
// session's exported PoR key (or trusting the verifier's signature) can check exactly what was
// proven (docs/PROFILE.md §Proof-of-Reachability). The signature authenticates the record, not
// liveness itself (§12.1).
//   b = {"pp": uint profile, "rn": bstr32 RN CID, "ctx": bstr16 session tag, "gen": uint generation,
//        "n": bstr16 nonce, "iat_ms": uint, "exp_ms": uint, "proof": bstr32}

import { asBytes, asMap, asUint, onlyKeys } from '../cbor.js';
import { ErrorCode, ValidationError } from '../errors.js';
import type { BodyCodec } from './codec.js';

export interface PorEvidenceBody {
  readonly profile: number;
  readonly rnCid: Uint8Array;
  readonly sessionTag: Uint8Array;
  readonly generation: number;
  readonly nonce: Uint8Array;
  readonly issuedMs: number;
  readonly expiresMs: number;
  readonly proof: Uint8Array;
}

export const porEvidenceCodec: BodyCodec<PorEvidenceBody> = {
  type: 'por-evidence',
  subject: 'required',
  audience: 'required',
  knownExtensions: [],

  encode(b) {
    return { pp: b.profile, rn: b.rnCid, ctx: b.sessionTag, gen: b.generation, n: b.nonce, iat_ms: b.issuedMs, exp_ms: b.expiresMs, proof: b.proof };
  },

  decode(b) {
    const m = asMap(b, 'por-evidence.b');
    onlyKeys(m, ['pp', 'rn', 'ctx', 'gen', 'n', 'iat_ms', 'exp_ms', 'proof'], 'por-evidence.b');
    return {
      profile: asUint(m.pp, 'por-evidence.b.pp'),
      rnCid: asBytes(m.rn, 'por-evidence.b.rn', 32),
      sessionTag: asBytes(m.ctx, 'por-evidence.b.ctx', 16),
      generation: asUint(m.gen, 'por-evidence.b.gen'),
      nonce: asBytes(m.n, 'por-evidence.b.n', 16),
      issuedMs: asUint(m.iat_ms, 'por-evidence.b.iat_ms'),
      expiresMs: asUint(m.exp_ms, 'por-evidence.b.exp_ms'),
      proof: asBytes(m.proof, 'por-evidence.b.proof', 32),
    };
  },

  check(_p, _common, b) {
    if (b.expiresMs < b.issuedMs) throw new ValidationError(ErrorCode.ARTEFACT_EXPIRED, 'por-evidence: expires before it was issued');
  },
};
