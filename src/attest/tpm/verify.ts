// Verifies one TPM quote (TpmQuote) against what the verifier expects. Returns a verdict with a
// precise reason and never throws on bad input: everything in a TpmQuote comes from the peer.
//
// Order: decode all three structures, then judge the key (attributes, trust), then the signature,
// and only then the signed contents, so that a content mismatch is reported only for a quote the
// TPM really signed (a forged or corrupted quote says "signature does not verify").
//
// What binds: the AK's attributes (restricted, fixedTPM...) are what the presented public area says.
// Someone holding an unrestricted key could present a public area with the same point but restricted
// attributes and sign a TPMS_ATTEST of their own making; its name then differs from the enrolled
// AK's. So the attribute check guards against honest misconfiguration, and only a pinned AK name
// (trustedAkNames, enrolled from the gateway's own TPM) makes a quote evidence of a real TPM.

import type { KeyObject } from 'node:crypto';
import { equal } from '../../uzp/bytes.js';
import type { CryptoProvider } from '../../uzp/crypto/provider.js';
import type { TpmQuote } from '../types.js';
import {
  TPMA_OBJECT,
  TPM_ALG_SHA256,
  akNameOf,
  decodeAttest,
  decodePublic,
  decodeSignature,
  eccPublicKey,
  verifyEcdsaP256,
  type Attest,
  type EccPublic,
  type EcdsaSignature,
} from './structures.js';
import { DecodeError } from '../../lib/errors.js';

/**
 * The TPM's clock state at the time of the quote (Part 2 §10.11.1 TPMS_CLOCK_INFO). For an AK outside
 * the endorsement/platform hierarchies resetCount and restartCount carry a per-key offset (Part 4
 * §7.2.2.1): compare them between quotes of the same AK, never with absolute expectations.
 */
export interface TpmClock {
  readonly clock: bigint;
  readonly resetCount: number;
  readonly restartCount: number;
  readonly safe: boolean;
}

interface QuoteCheck {
  readonly ok: boolean;
  readonly reason: string;
  /** Name of the AK (empty when its public area did not decode). */
  readonly akName: Uint8Array;
  /** Present only when ok: an unverified clock is worth nothing. */
  readonly clock?: TpmClock;
}

interface QuoteExpectation {
  /** qualifyingData() of the evidence being appraised. */
  readonly qualifying: Uint8Array;
  /** Enrolled AK names; when given, any other AK is refused. */
  readonly trustedAkNames?: readonly Uint8Array[];
}

/**
 * Attributes of a key that can only sign what the TPM itself generated (Part 1 §25.2.3 restricted
 * signing keys) and that can never be moved to another TPM (fixedTPM, fixedParent), generated
 * inside the TPM (sensitiveDataOrigin). A restricted key with decrypt as well is not a signing key.
 */
const REQUIRED = TPMA_OBJECT.restricted | TPMA_OBJECT.sign | TPMA_OBJECT.fixedTPM | TPMA_OBJECT.fixedParent | TPMA_OBJECT.sensitiveDataOrigin;

/** PCR banks we accept in a quote and the size of one of their values. */
const PCR_SIZE = 32;

const NO_NAME = new Uint8Array(0);

function fail(reason: string, akName: Uint8Array = NO_NAME): QuoteCheck {
  return { ok: false, reason, akName };
}

function decodeAll(q: TpmQuote): { pub: EccPublic; attest: Attest; sig: EcdsaSignature } | string {
  const step = <T>(what: string, f: () => T): T | string => {
    try {
      return f();
    } catch (e) {
      if (e instanceof DecodeError) return `${what} does not decode: ${e.message}`;
      throw e;
    }
  };
  const pub = step('AK public area', () => decodePublic(q.akPublic));
  if (typeof pub === 'string') return pub;
  const attest = step('quote (TPMS_ATTEST)', () => decodeAttest(q.attest));
  if (typeof attest === 'string') return attest;
  const sig = step('signature (TPMT_SIGNATURE)', () => decodeSignature(q.signature));
  if (typeof sig === 'string') return sig;
  return { pub, attest, sig };
}

function isSha256Name(n: Uint8Array): boolean {
  return n.length === 2 + 32 && ((n[0]! << 8) | n[1]!) === TPM_ALG_SHA256;
}

function missingAttributes(attrs: number): string[] {
  const out: string[] = [];
  for (const [name, bit] of Object.entries(TPMA_OBJECT)) if ((REQUIRED & bit) !== 0 && (attrs & bit) === 0) out.push(name);
  return out;
}

export function verifyQuote(p: CryptoProvider, q: TpmQuote, expect: QuoteExpectation): QuoteCheck {
  let d: ReturnType<typeof decodeAll>;
  try {
    d = decodeAll(q);
  } catch (e) {
    // Not reachable with Uint8Array inputs; still, a verifier must never throw on peer input.
    return fail(`quote could not be read: ${(e as Error).message}`);
  }
  if (typeof d === 'string') return fail(d);
  const { pub, attest, sig } = d;
  const akName = akNameOf(p, q.akPublic);

  const missing = missingAttributes(pub.objectAttributes);
  if (missing.length > 0) return fail(`AK is not a restricted signing key generated in and bound to the TPM (missing ${missing.join(', ')})`, akName);
  if ((pub.objectAttributes & TPMA_OBJECT.decrypt) !== 0) return fail('AK is not a restricted signing key (decrypt is set)', akName);

  if (expect.trustedAkNames !== undefined && !expect.trustedAkNames.some((n) => equal(n, akName))) return fail('AK not trusted', akName);

  let key: KeyObject;
  try {
    key = eccPublicKey(pub);
  } catch (e) {
    return fail(`AK public area does not decode: ${(e as Error).message}`, akName);
  }
  if (!verifyEcdsaP256(key, q.attest, sig)) return fail('signature does not verify with the AK', akName);

  // qualifiedSigner is the AK's Qualified Name (Part 1 §16.6: QN = nameAlg || H(QN(parent) || Name)),
  // not its Name: it cannot be recomputed from akPublic alone (the parent's name is not in the quote),
  // so it is not compared with akName. Nothing is lost: a restricted key signs only TPMS_ATTEST the
  // TPM built itself (magic checked when decoding), and there the TPM writes the QN of the very key
  // that signs, so the signature check above already ties this quote to this AK.
  if (!isSha256Name(attest.qualifiedSigner)) return fail('qualifiedSigner is not a SHA-256 qualified name', akName);
  if (!equal(attest.extraData, expect.qualifying)) return fail('qualifying data does not match: wrong nonce, binding or claims', akName);

  const pcrCount = attest.pcrSelect.reduce((n, s) => n + s.pcrs.length, 0);
  if (attest.pcrSelect.some((s) => s.hash !== TPM_ALG_SHA256 && s.pcrs.length > 0)) return fail('quote selects PCRs of a bank other than SHA-256', akName);
  if (q.pcrs.length !== pcrCount * PCR_SIZE) return fail(`PCR values do not match the selection: ${pcrCount} SHA-256 PCRs quoted, ${q.pcrs.length} bytes of values given`, akName);
  // Part 3 §18.4: pcrDigest = H_signHash(concatenated selected PCR values), selection order.
  if (!equal(attest.pcrDigest, p.sha256(q.pcrs))) return fail('PCR values do not match the quoted pcrDigest', akName);

  const c = attest.clockInfo;
  return {
    ok: true,
    reason: `quote by AK verifies (resetCount ${c.resetCount}, restartCount ${c.restartCount}, ${pcrCount} PCRs)`,
    akName,
    clock: { clock: c.clock, resetCount: c.resetCount, restartCount: c.restartCount, safe: c.safe },
  };
}
