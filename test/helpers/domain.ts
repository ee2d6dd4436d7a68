// A throwaway trust domain for tests: root key, TrustStore, and issuers for PCerts, Grants,
// RN Set Statements and revocation lists, all signed by the root through the real envelope code.

import { sealEnvelope } from '../../src/uzp/artefacts/envelope.js';
import { grantCodec } from '../../src/uzp/artefacts/grant.js';
import { pcertCodec } from '../../src/uzp/artefacts/pcert.js';
import { revocationCodec } from '../../src/uzp/artefacts/revocation.js';
import { rnSetCodec } from '../../src/uzp/artefacts/rnset.js';
import { TrustStore } from '../../src/uzp/artefacts/trust.js';
import type { GrantScope, Purpose, Role } from '../../src/uzp/artefacts/types.js';
import type { CryptoProvider } from '../../src/uzp/crypto/provider.js';
import { nodeProvider } from '../../src/uzp/crypto/node.js';
import { generateIdentity, type Identity } from '../../src/uzp/identity/identity.js';

export interface Member {
  readonly id: Identity;
  readonly pcert: Uint8Array;
}

export class TestDomain {
  readonly root: Identity;
  private clockMs: number;
  private grantNonce = 0;
  private revocationSeq = 0;
  private rnSetSeq = 0;

  constructor(
    readonly provider: CryptoProvider = nodeProvider,
    startMs = Date.UTC(2026, 10, 21, 12, 0, 0),
  ) {
    this.root = generateIdentity(provider);
    this.clockMs = startMs;
  }

  /** Seconds of the domain's clock (artefacts are issued relative to it). */
  get now(): number {
    return Math.floor(this.clockMs / 1000);
  }
  advance(seconds: number): void {
    this.clockMs += seconds * 1000;
  }
  clock = (): number => this.clockMs;

  trust(): TrustStore {
    return new TrustStore({ provider: this.provider, rootPublicKey: this.root.publicKey, clock: this.clock });
  }

  member(role: Role, opts: { validSeconds?: number; name?: string } = {}): Member {
    const id = generateIdentity(this.provider);
    return { id, pcert: this.pcert(id, role, opts) };
  }

  pcert(id: Identity, role: Role, opts: { validSeconds?: number; name?: string } = {}): Uint8Array {
    const now = this.now;
    return sealEnvelope(
      this.provider,
      [this.root.signer],
      { type: 'pcert', subject: id.cid, issuedAt: now, notBefore: now - 60, expiresAt: now + (opts.validSeconds ?? 86_400) },
      pcertCodec.encode({ publicKey: id.publicKey, role, ...(opts.name ? { name: opts.name } : {}) }),
    );
  }

  grant(
    subject: Uint8Array,
    audience: Uint8Array,
    opts: { purposes?: Purpose[]; slot?: string; device?: string; scopes?: GrantScope[]; nonce?: number; validSeconds?: number; notBefore?: number; earlyData?: boolean } = {},
  ): Uint8Array {
    const now = this.now;
    const nonce = opts.nonce ?? ++this.grantNonce;
    return sealEnvelope(
      this.provider,
      [this.root.signer],
      { type: 'grant', subject, audience, issuedAt: now, notBefore: opts.notBefore ?? now - 60, expiresAt: now + (opts.validSeconds ?? 3_600) },
      grantCodec.encode({
        // One scope from slot/device/purposes (the common case in tests), or the scopes given.
        scopes: opts.scopes ?? [{ slot: opts.slot ?? 'no-slot-named', ...(opts.device ? { device: opts.device } : {}), purposes: opts.purposes ?? [{ purpose: 'serial.read' }] }],
        nonce,
        // draft §9: early data and no-replay exclude each other; no-replay unless early data is asked for.
        earlyData: opts.earlyData === true,
        noReplay: opts.earlyData !== true,
      }),
    );
  }

  /** The sequence of the last RN Set Statement rnSet() made. */
  get rnSetSequence(): number {
    return this.rnSetSeq;
  }

  rnSet(rns: { id: Identity; addresses: string[]; roles?: string[] }[], opts: { epoch?: number; validSeconds?: number } = {}): Uint8Array {
    const now = this.now;
    return sealEnvelope(
      this.provider,
      [this.root.signer],
      { type: 'rn-set', issuedAt: now, notBefore: now - 60, expiresAt: now + (opts.validSeconds ?? 86_400), epoch: opts.epoch ?? 1, sequence: ++this.rnSetSeq },
      rnSetCodec.encode({
        scope: 'test',
        rns: rns.map((r) => ({ cid: r.id.cid, publicKey: r.id.publicKey, addresses: r.addresses, roles: r.roles ?? ['relay'] })),
      }),
    );
  }

  revocation(cids: Uint8Array[], objectIds: Uint8Array[] = []): Uint8Array {
    const now = this.now;
    return sealEnvelope(
      this.provider,
      [this.root.signer],
      { type: 'revocation', issuedAt: now, notBefore: now - 60, expiresAt: now + 86_400, epoch: 1, sequence: ++this.revocationSeq },
      revocationCodec.encode({ cids, objectIds }),
    );
  }
}
