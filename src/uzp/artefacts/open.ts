// The single validation path for every signed artefact: decode -> type and extension rules ->
// body codec -> caller's cheap policy checks -> signatures (expensive, last). Every validate*
// function and every CLI inspection goes through openArtefact / openAndVerify.

import { equal } from '../bytes.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { ErrorCode, ValidationError } from '../errors.js';
import { cidOf } from '../identity/cid.js';
import { codecFor, type BodyOf, type CodecType } from './codecs.js';
import { withArticle } from './constants.js';
import { artefactSignatureInput, decodeEnvelope } from './envelope.js';
import { VerifiedCache } from './verified-cache.js';
import type { Envelope } from './types.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';

/** Maps a signer's kid (CID) to its Ed25519 public key, or undefined if the signer is not trusted. */
export type ResolveKey = (kid: Uint8Array) => Uint8Array | undefined;

interface OpenOptions<B> {
  /** Cheap policy checks (window, audience, revocation, nonce) run before any signature is verified. */
  readonly precheck?: (env: Envelope<B>) => void;
  /** Skips decoding and verifying artefacts whose exact bytes verified before. */
  readonly cache?: VerifiedCache;
}

/**
 * Decodes an artefact of the expected type without checking signatures: structure, canonical form,
 * common-field presence, unknown critical extensions (draft §12), body codec and its invariants.
 */
export function openArtefact<T extends CodecType>(provider: CryptoProvider, bytes: Uint8Array, expectedType: T): Envelope<BodyOf[T]> {
  const raw = decodeEnvelope(provider, bytes);
  if (raw.type !== expectedType) {
    throw new ValidationError(ErrorCode.ARTEFACT_TYPE, `expected ${withArticle(expectedType)} artefact, got ${raw.type}`);
  }
  const codec = codecFor(expectedType);
  if ((raw.subject !== undefined) !== (codec.subject === 'required')) {
    throw new DecodeError(CommonCode.DECODE_VALUE, `${expectedType}: sub must be ${codec.subject === 'required' ? 'present' : 'absent'}`);
  }
  if ((raw.audience !== undefined) !== (codec.audience === 'required')) {
    throw new DecodeError(CommonCode.DECODE_VALUE, `${expectedType}: aud must be ${codec.audience === 'required' ? 'present' : 'absent'}`);
  }
  // Unknown critical extension -> refuse before interpreting the body; unknown non-critical -> kept, ignored.
  for (const ext of raw.extensions) {
    if (ext.critical && !codec.knownExtensions.includes(ext.id)) {
      throw new ValidationError(ErrorCode.ARTEFACT_CRITICAL_EXT, `${expectedType}: unknown critical extension ${JSON.stringify(ext.id)}`);
    }
  }
  const body = codec.decode(raw.body);
  codec.check(provider, raw, body);
  return { ...raw, body };
}

/** Verifies every signature (issuer first, then co-signers); all must verify. ValidationError otherwise. */
export function verifySignatures(provider: CryptoProvider, env: Envelope<unknown>, resolveKey: ResolveKey): void {
  const input = artefactSignatureInput(env.type, env.bodyBytes);
  for (const s of env.signatures) {
    const pk = resolveKey(s.kid);
    if (pk === undefined || !equal(cidOf(provider, pk), s.kid)) {
      throw new ValidationError(ErrorCode.SIG_UNKNOWN_SIGNER, `${env.type}: signature by an unknown signer`);
    }
    if (!provider.ed25519Verify(pk, input, s.sig)) {
      throw new ValidationError(ErrorCode.SIG_INVALID, `${env.type}: signature does not verify`);
    }
  }
}

/**
 * openArtefact, then the caller's cheap checks, then signatures. With a cache, an artefact whose
 * exact bytes decoded and verified before skips both decode and signatures; the caller's checks
 * (window, audience, revocation, nonce) run every time, before anything is remembered.
 */
export function openAndVerify<T extends CodecType>(
  provider: CryptoProvider,
  bytes: Uint8Array,
  expectedType: T,
  resolveKey: ResolveKey,
  opts: OpenOptions<BodyOf[T]> = {},
): Envelope<BodyOf[T]> {
  const cache = opts.cache;
  const key = cache === undefined ? undefined : VerifiedCache.keyOf(expectedType, bytes);
  const hit = key === undefined ? undefined : (cache!.get(key) as Envelope<BodyOf[T]> | undefined);
  if (hit !== undefined) {
    opts.precheck?.(hit);
    return hit;
  }
  // A cached envelope holds views of the bytes it was decoded from: decode a copy of its own.
  const env = openArtefact(provider, key === undefined ? bytes : bytes.slice(), expectedType);
  opts.precheck?.(env);
  verifySignatures(provider, env, resolveKey);
  if (key !== undefined) cache!.add(key, env);
  return env;
}
