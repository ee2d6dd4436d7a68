// Hand-built attestation evidence for link tests: a minimal claims set of our eat_profile, signed
// through the real signEvidence (src/attest/evidence.ts). The claims describe nothing real; the RN
// never appraises them, it checks presence, signer, nonce, binding and the validity window.

import { bundleRootOf } from '../../src/attest/bundle.js';
import { ueidOf } from '../../src/attest/claims.js';
import { signEvidence } from '../../src/attest/evidence.js';
import { EAT_PROFILE, type Claims } from '../../src/attest/types.js';
import type { CryptoProvider, Signer } from '../../src/uzp/crypto/provider.js';
import { cidOf } from '../../src/uzp/identity/cid.js';

export interface TestEvidenceOptions {
  /** eat_nonce (8..64 bytes). */
  readonly nonce: Uint8Array;
  /** binding claim (32 bytes); absent when undefined. */
  readonly binding?: Uint8Array;
  /** Unix seconds. */
  readonly iat: number;
  /** The CID the ueid names; default the signer's own (anything else does not even decode). */
  readonly ueidCid?: Uint8Array;
}

export function testEvidence(p: CryptoProvider, signer: Signer, o: TestEvidenceOptions): Uint8Array {
  const claims: Claims = {
    eat_profile: EAT_PROFILE,
    eat_nonce: o.nonce,
    ueid: ueidOf(o.ueidCid ?? cidOf(p, signer.publicKey)),
    iat: o.iat,
    oemid: Uint8Array.of(0xdc, 0xa6, 0x32),
    hwmodel: 'test board',
    hwversion: '1.0',
    board: 'virtual',
    swname: 'uzp-gateway',
    swversion: '0.0.0-test',
    measurements: {
      bundle: { root: bundleRootOf(p, []), files: 0, groups: [] },
      lockfile: new Uint8Array(32).fill(0x11),
      node: process.version,
      runtime: { path: process.execPath, sha256: new Uint8Array(32).fill(0x66) },
      config: new Uint8Array(32).fill(0x22),
      board: new Uint8Array(32).fill(0x33),
    },
    dbgstat: 'disabled',
    bootseed: new Uint8Array(32).fill(0x44),
    ...(o.binding !== undefined ? { binding: o.binding } : {}),
    key_origin: 'software',
    submods: {},
  };
  return signEvidence(p, signer, claims);
}
