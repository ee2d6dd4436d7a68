// The attach vector's fixed inputs (test/vectors/link.json `attach`), decoded once for the tests of
// both attachments: the full one (attach.test.ts) and the 1-RTT one (attach-1rtt.test.ts).

import { readFileSync } from 'node:fs';
import { TrustStore } from '../../../src/uzp/artefacts/trust.js';
import { fromHex } from '../../../src/uzp/bytes.js';
import { nodeProvider as p } from '../../../src/uzp/crypto/node.js';
import type { KeyPair } from '../../../src/uzp/crypto/provider.js';
import { identityFromSeed } from '../../../src/uzp/identity/identity.js';

export const LINK_VECTORS = JSON.parse(readFileSync(new URL('../../vectors/link.json', import.meta.url), 'utf8')) as {
  attach: { inputs: Record<string, string | number>; outputs: Record<string, string> };
  attach1: { inputs: { time_ep_ms: number }; outputs: Record<string, string> };
};

/** The inputs: `h(name)` as bytes, a trust store at the vector's clock holding its RN Set, both ephemerals. */
export function attachInputs(): { h: (k: string) => Uint8Array; trust: TrustStore; ephEp: KeyPair; ephRn: KeyPair } {
  const I = LINK_VECTORS.attach.inputs;
  const h = (k: string) => fromHex(I[k] as string);
  const T = I.now_seconds as number;
  const root = identityFromSeed(p, h('root_seed'));
  const trust = new TrustStore({ provider: p, rootPublicKey: root.publicKey, clock: () => T * 1000 });
  trust.setRnSet(h('rn_set'));
  const pair = (k: string): KeyPair => ({ privateKey: h(k), publicKey: p.x25519PublicKey(h(k)) });
  return { h, trust, ephEp: pair('eph_ep_private'), ephRn: pair('eph_rn_private') };
}
