// Reference values for a freshly installed bundle + config + board (what `uzpgw flash` signs into the
// manifest). Computed with the same functions the gateway's Attester uses (./measure.ts, ./bundle.ts),
// from the same narrow AttestInput the gateway builds (config/attest-input.ts).

import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { measureBundle } from './bundle.js';
import { oemidBytes } from './cbor-parts.js';
import { boardDigest, lockfileDigest, slotClaimsOf, softwareOf } from './measure.js';
import type { AttestInput, ReferenceManifest, RuntimeMeasurement } from './types.js';

interface ReferenceInput {
  /** The installed bundle (e.g. <root>/opt/uzp-gateway). */
  readonly bundleDir: string;
  /** The installed config and board, as the gateway will attest them. */
  readonly input: AttestInput;
  /** Node versions the target runs (exact process.version strings). */
  readonly node: readonly string[];
  /** The runtime flash installed, measured as installed, with its path on the device. */
  readonly runtime?: RuntimeMeasurement;
}

export async function referenceFor(p: CryptoProvider, i: ReferenceInput): Promise<ReferenceManifest> {
  const sw = softwareOf(i.bundleDir);
  const board = i.input.board;
  return {
    board: board.id,
    oemid: oemidBytes(board.oemid),
    hwmodel: board.hwmodel,
    hwversion: board.hwversion,
    swname: sw.swname,
    swversion: sw.swversion,
    bundle: await measureBundle(p, i.bundleDir),
    lockfile: await lockfileDigest(p, i.bundleDir),
    node: [...i.node],
    ...(i.runtime !== undefined ? { runtime: i.runtime } : {}),
    config: i.input.configDigest,
    boardDigest: boardDigest(p, board),
    slots: slotClaimsOf(i.input.slots),
  };
}
