// The single validation path for every signed artefact: decode -> type and extension rules ->
// body codec -> caller's cheap policy checks -> signatures (expensive, last). Every validate*
// function and every CLI inspection goes through openArtefact / openAndVerify.

import { equal, toHex } from '../bytes.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { ErrorCode, ValidationError } from '../errors.js';
import { cidOf } from '../identity/cid.js';
import { codecFor, type BodyOf, type CodecType } from './codecs.js';
import { artefactSignatureInput, decodeEnvelope } from './envelope.js';
import type { SigCache } from './sigcache.js';
import type { Envelope } from './types.js';
import { CommonCode, DecodeError } from '../../lib/errors.js';

/** Maps a signer's kid (CID) to its Ed25519 public key, or undefined if the signer is not trusted. */
export type ResolveKey = (kid: Uint8Array) => Uint8Array | undefined;

interface OpenOptions<B> {
  /** Cheap policy checks (window, audience, revocation, nonce) run before any signature is verified. */
  readonly precheck?: (env: Envelope<B>) => void;
  /** Skips re-verifying envelopes whose signatures verified before (keyed by sigCacheKey). */
  readonly cache?: SigCache;
}

/**
 * Decodes an artefact of the expected type without checking signatures: structure, canonical form,
 * common-field presence, unknown critical extensions (draft §12), body codec and its invariants.
 */
export function openArtefact<T extends CodecType>(provider: CryptoProvider, bytes: Uint8Array, expectedType: T): Envelope<BodyOf[T]> {
  const raw = decodeEnvelope(provider, bytes);
  if (raw.type !== expectedType) {
    throw new ValidationError(ErrorCode.ARTEFACT_TYPE, `expected a ${expectedType} artefact, got ${raw.type}`);
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
 * What a verification covered: the body (by its object_id, a hash of exactly the signed body
 * bytes) and every (kid, signature) pair. Same key, same verdict: Ed25519 verification is
 * deterministic and the signer keys of a trust store do not change.
 */
export function sigCacheKey(env: Envelope<unknown>): string {
  let k = toHex(env.objectId);
  for (const s of env.signatures) k += `.${toHex(s.kid)}:${toHex(s.sig)}`;
  return k;
}

/** openArtefact, then the caller's cheap checks, then signatures (through the cache if given). */
export function openAndVerify<T extends CodecType>(
  provider: CryptoProvider,
  bytes: Uint8Array,
  expectedType: T,
  resolveKey: ResolveKey,
  opts: OpenOptions<BodyOf[T]> = {},
): Envelope<BodyOf[T]> {
  const env = openArtefact(provider, bytes, expectedType);
  opts.precheck?.(env);
  const key = opts.cache !== undefined ? sigCacheKey(env) : undefined;
  if (key === undefined || !opts.cache!.has(key)) {
    verifySignatures(provider, env, resolveKey);
    if (key !== undefined) opts.cache!.add(key);
  }
  return env;
}
