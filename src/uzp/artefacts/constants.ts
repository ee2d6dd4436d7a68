// Profile constants for signed artefacts (docs/PROFILE.md, "Artefacts"). Spec rules are in the
// draft (§12 quotes the UZPIF common-envelope rules); these numbers are our profile's choices.

import type { ObjectType } from './types.js';

/**
 * Every object_type the envelope decoder recognises (draft §12 adds "por-evidence"; this profile adds
 * "reference-manifest", the verifier's reference values written when a gateway is flashed, and the
 * outbound-indexing artefacts: "discovery-grant" (OI draft §9.1), "receipt" (OI §11.5) and
 * "discovery-revocation" (OI §11.6), signed by the publisher or the collector, not the domain root).
 */
export const OBJECT_TYPES: readonly ObjectType[] = [
  'pcert',
  'grant',
  'rn-set',
  'revocation',
  'attestation',
  'por-evidence',
  'reference-manifest',
  'discovery-grant',
  'receipt',
  'discovery-revocation',
];

/**
 * "a grant", "an rn-set", "an attestation": an object_type with its indefinite article, for messages.
 * The article goes by sound: "an" before a vowel letter, and before "rn", read as its letters
 * ("ar-en"). Every other type in OBJECT_TYPES starts with a consonant sound ("por" is read "P-o-R"
 * or "por", both "a"); a new type starting with "u" or another initialism needs a look here.
 */
export function withArticle(type: string): string {
  return `${/^[aeio]/.test(type) || type.startsWith('rn-') ? 'an' : 'a'} ${type}`;
}

/** Domain separation for every signature in this profile: ctx = SIG_CONTEXT_PREFIX + object_type. */
export const SIG_CONTEXT_PREFIX = 'uzp-gw/1 ';

/** The only signature algorithm identifier of this profile (algorithm identifier matching). */
export const ALG_ED25519 = 'ed25519';

/** Whole envelope bound: a decoder never looks at more than this. */
export const MAX_ENVELOPE_BYTES = 64 * 1024;
/** At most this many signatures (issuer + co-signers). */
export const MAX_SIGNATURES = 16;
/** At most this many extensions per artefact. */
export const MAX_EXTENSIONS = 32;
/** Extension ids: short ASCII names. */
export const MAX_EXTENSION_ID = 64;
/** Generic bound for short text fields (names, slot ids, purposes). */
export const MAX_TEXT = 256;
/** Purpose names ("modbus.read", "telemetry.store"): short dotted words. */
export const MAX_PURPOSE_NAME = 64;

/** Default allowed clock skew for nbf/exp, seconds. */
export const DEFAULT_SKEW_SECONDS = 300;
/** Verified-artefact cache per TrustStore (verified-cache.ts): at most this many artefacts... */
export const VERIFIED_CACHE_ENTRIES = 1024;
/** ...and at most this many artefact bytes (the decoded objects take a few times more). */
export const VERIFIED_CACHE_BYTES = 1 << 20;
/** Grant nonce state: (iss, sub, aud) triples remembered per TrustStore, oldest evicted first. */
export const NONCE_STATE_ENTRIES = 65_536;
