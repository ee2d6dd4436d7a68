// TrustStore: the trust context of one endpoint or RN — the domain root key (trust anchor), the
// installed revocation list and RN Set Statement, Grant nonce state and the cache of verified artefacts.
// Only the domain root issues artefacts in this profile (no delegation yet). Artefacts are installed
// only through the adoption rule (./adopt.ts): offer*() answers adopted / unchanged / refused, set*()
// is the same rule for start-up, throwing the refusal.
// Time comes from an injected clock so that tests never depend on the wall clock.

import { equal, toHex } from '../bytes.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { cidOf } from '../identity/cid.js';
import { DEFAULT_SKEW_SECONDS } from './constants.js';
import { NonceTracker } from './nonces.js';
import type { ResolveKey } from './open.js';
import { VerifiedCache } from './verified-cache.js';
import { adoptedOrThrow, adoptPCert, adoptRevocation, adoptRnSet, type Adoption } from './adopt.js';
import type { Grant, PCert, Revocation, RnEntry, RnSet, Role, Valid } from './types.js';
import type { TrustContext } from './validate-common.js';
import { validateGrant } from './validate-grant.js';
import { validatePCert } from './validate-pcert.js';
import { eligibleRn, recoveryRn } from './validate-rnset.js';

export interface TrustStoreOptions {
  provider: CryptoProvider;
  /** Domain root Ed25519 public key (the trust anchor). */
  rootPublicKey: Uint8Array;
  /** Unix time in ms; default Date.now. */
  clock?: () => number;
  /** Allowed clock skew for nbf/exp, seconds; default 300. */
  skewSeconds?: number;
}

export class TrustStore implements TrustContext {
  readonly provider: CryptoProvider;
  readonly rootCid: Uint8Array;
  readonly rootPublicKey: Uint8Array;
  readonly skewSeconds: number;
  readonly verified = new VerifiedCache();
  readonly nonces = new NonceTracker();
  readonly resolveKey: ResolveKey;
  private readonly clock: () => number;
  private revocation: Valid<Revocation> | undefined;
  private revoked = new Set<string>();
  private installedRnSet: Valid<RnSet> | undefined;

  constructor(opts: TrustStoreOptions) {
    this.provider = opts.provider;
    this.rootPublicKey = opts.rootPublicKey.slice();
    this.rootCid = cidOf(opts.provider, this.rootPublicKey);
    this.clock = opts.clock ?? Date.now;
    this.skewSeconds = opts.skewSeconds ?? DEFAULT_SKEW_SECONDS;
    if (!Number.isSafeInteger(this.skewSeconds) || this.skewSeconds < 0) throw new RangeError(`skewSeconds must be a non-negative integer, got ${this.skewSeconds}`);
    const rootCid = this.rootCid;
    const rootKey = this.rootPublicKey;
    this.resolveKey = (kid) => (equal(kid, rootCid) ? rootKey : undefined);
  }

  nowSeconds(): number {
    return Math.floor(this.clock() / 1000);
  }

  /** Offers a revocation list: adopted if valid and newer by (epoch, sequence) (./adopt.ts), else unchanged or refused. */
  offerRevocation(bytes: Uint8Array): Adoption<Revocation> {
    const a = adoptRevocation(this, this.revocation, bytes);
    if (a.outcome === 'adopted') {
      this.revocation = a.artefact;
      this.revoked = new Set([...a.artefact.body.cids, ...a.artefact.body.objectIds].map(toHex));
    }
    return a;
  }

  /** offerRevocation for start-up: returns the installed list, throws the refusal (older -> ARTEFACT_STALE_SEQUENCE, conflict -> ARTEFACT_CONFLICT). */
  setRevocation(bytes: Uint8Array): Valid<Revocation> {
    return adoptedOrThrow(this.offerRevocation(bytes));
  }

  /** The installed revocation list, if any. It keeps applying after its exp: revocation fails safe. */
  get revocationList(): Valid<Revocation> | undefined {
    return this.revocation;
  }

  /** Offers an RN Set Statement: adopted if valid, of the installed scope and newer by (epoch, sequence) (./adopt.ts). */
  offerRnSet(bytes: Uint8Array): Adoption<RnSet> {
    const a = adoptRnSet(this, this.installedRnSet, bytes);
    if (a.outcome === 'adopted') this.installedRnSet = a.artefact;
    return a;
  }

  /** offerRnSet for start-up: returns the installed statement, throws the refusal (older -> ARTEFACT_STALE_SEQUENCE; same version, other object_id, or another scope -> RNSET_CONFLICT). */
  setRnSet(bytes: Uint8Array): Valid<RnSet> {
    return adoptedOrThrow(this.offerRnSet(bytes));
  }

  get rnSet(): Valid<RnSet> | undefined {
    return this.installedRnSet;
  }

  /** The RN entry for an RN public key if the installed RN set is *currently* valid and lists it; else throws RNSET_NOT_ELIGIBLE. */
  requireEligibleRn(rnPublicKey: Uint8Array, role?: string): RnEntry {
    return eligibleRn(this, this.installedRnSet, rnPublicKey, role);
  }

  /**
   * The RN entry for an RN public key listed in the installed RN Set Statement even if it is past its
   * window (validate-rnset.ts recoveryRn): only for dialling an RN to receive newer artefacts, never
   * for sessions. Throws RNSET_NOT_ELIGIBLE when not listed or revoked.
   */
  requireRecoveryRn(rnPublicKey: Uint8Array, role?: string): RnEntry {
    return recoveryRn(this, this.installedRnSet, rnPublicKey, role);
  }

  /** Offers a renewed PCert for the key and role of `installed` (our own, held by the caller): adopted if valid and newer (./adopt.ts comparePCert). */
  offerPCert(installed: Valid<PCert>, bytes: Uint8Array): Adoption<PCert> {
    return adoptPCert(this, installed, bytes);
  }

  isRevoked(id: Uint8Array): boolean {
    return this.revoked.has(toHex(id));
  }

  validatePCert(bytes: Uint8Array, opts: { role?: Role; cid?: Uint8Array } = {}): Valid<PCert> {
    return validatePCert(this, bytes, opts);
  }

  /** nonce: 'ignore' (default: 1-RTT sessions, offline inspection) skips nonce state; 'track' (early data,
   *  draft §9) refuses a nonce lower than the highest seen for (iss, sub, aud) and records it (equal is accepted). */
  validateGrant(bytes: Uint8Array, opts: { audience: Uint8Array; subject?: Uint8Array; nonce?: 'track' | 'ignore' }): Valid<Grant> {
    return validateGrant(this, this.nonces, bytes, opts);
  }
}
