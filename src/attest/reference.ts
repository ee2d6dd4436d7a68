// Reference values for a freshly installed bundle + config + board (what `uzpgw flash` signs into the
// manifest). Computed with the same functions the gateway's Attester uses (./measure.ts, ./bundle.ts).

import type { Board, GatewayConfig } from '../config/types.js';
import { configDigest } from '../config/digest.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { measureBundle } from './bundle.js';
import { oemidBytes } from './cbor-parts.js';
import { boardDigest, lockfileDigest, slotClaimsFromConfig, softwareOf } from './measure.js';
import type { ReferenceManifest } from './types.js';

export interface ReferenceInput {
  /** The installed bundle (e.g. <root>/opt/uzp-gateway). */
  readonly bundleDir: string;
  readonly config: GatewayConfig;
  readonly board: Board;
  /** Node versions the target runs (exact process.version strings). */
  readonly node: readonly string[];
}

export async function referenceFor(p: CryptoProvider, i: ReferenceInput): Promise<ReferenceManifest> {
  const sw = softwareOf(i.bundleDir);
  return {
    board: i.board.id,
    oemid: oemidBytes(i.board.oemid),
    hwmodel: i.board.hwmodel,
    hwversion: i.board.hwversion,
    swname: sw.swname,
    swversion: sw.swversion,
    bundle: await measureBundle(p, i.bundleDir),
    lockfile: await lockfileDigest(p, i.bundleDir),
    node: [...i.node],
    config: configDigest(i.config, p),
    boardDigest: boardDigest(p, i.board),
    slots: slotClaimsFromConfig(i.config),
  };
}
