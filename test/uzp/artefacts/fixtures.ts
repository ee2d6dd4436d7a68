// Shared fixtures for artefact tests: fixed identities, a fake clock and builders for each type.

import type { ArtefactFields } from '../../../src/uzp/artefacts/envelope.js';
import { signArtefact } from '../../../src/uzp/artefacts/sign.js';
import type { BodyOf, CodecType } from '../../../src/uzp/artefacts/codecs.js';
import type { GrantBody, PCertBody, RevocationBody, RnSetBody } from '../../../src/uzp/artefacts/types.js';
import { TrustStore } from '../../../src/uzp/artefacts/trust.js';
import { nodeProvider } from '../../../src/uzp/crypto/node.js';
import type { CryptoProvider } from '../../../src/uzp/crypto/provider.js';
import { identityFromSeed, type Identity } from '../../../src/uzp/identity/identity.js';

export const provider = nodeProvider;

export function seed(n: number): Uint8Array {
  return new Uint8Array(32).fill(n);
}

export const root: Identity = identityFromSeed(provider, seed(1));
export const gateway: Identity = identityFromSeed(provider, seed(2));
export const operator: Identity = identityFromSeed(provider, seed(3));
export const rn1: Identity = identityFromSeed(provider, seed(4));
export const rn2: Identity = identityFromSeed(provider, seed(5));
export const stranger: Identity = identityFromSeed(provider, seed(6));

/** 2026-01-01T00:00:00Z */
export const T0 = 1_767_225_600;
export const DAY = 86_400;

export class FakeClock {
  constructor(public seconds = T0) {}
  readonly now = (): number => this.seconds * 1000;
  advance(s: number): void {
    this.seconds += s;
  }
}

export function store(clock = new FakeClock(), p: CryptoProvider = provider): TrustStore {
  return new TrustStore({ provider: p, rootPublicKey: root.publicKey, clock: clock.now });
}

export const window = (from = T0, days = 30): Pick<ArtefactFields, 'issuedAt' | 'notBefore' | 'expiresAt'> => ({
  issuedAt: from,
  notBefore: from,
  expiresAt: from + days * DAY,
});

export function pcertBody(id: Identity = gateway, role: PCertBody['role'] = 'gateway'): PCertBody {
  return { publicKey: id.publicKey, role, name: 'gw-01' };
}

export function grantBody(over: Partial<GrantBody> = {}): GrantBody {
  return {
    scopes: [{ slot: 'slot-1', device: 'plc-1', purposes: [{ purpose: 'modbus.read', units: [1, 2], tables: ['holding', 'input'], registers: [[0, 99]] }, { purpose: 'serial.read' }] }],
    nonce: 7,
    earlyData: false,
    noReplay: true,
    ...over,
  };
}

export function rnSetBody(ids: readonly Identity[] = [rn1, rn2]): RnSetBody {
  return {
    scope: 'plant-7.example',
    rns: ids.map((id, i) => ({ cid: id.cid, publicKey: id.publicKey, addresses: [`rn${i + 1}.example:7443`], roles: ['relay'] })),
  };
}

export function revocationBody(cids: Uint8Array[] = [], ids: Uint8Array[] = []): RevocationBody {
  return { cids, objectIds: ids };
}

/** Signs an artefact with the root unless another issuer is given. */
export function mint<T extends CodecType>(
  type: T,
  body: BodyOf[T],
  over: Partial<ArtefactFields> = {},
  issuer: Identity = root,
): Uint8Array {
  const subjAud: Partial<ArtefactFields> =
    type === 'pcert'
      ? { subject: provider.blake3((body as PCertBody).publicKey) }
      : type === 'grant' || type === 'por-evidence'
        ? { subject: operator.cid, audience: gateway.cid }
        : {};
  return signArtefact(provider, issuer.signer, { type, ...window(), ...subjAud, ...over } as ArtefactFields & { type: T }, body);
}
