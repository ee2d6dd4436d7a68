// The two shapes a Session is built from: the stitch that carries it (src/uzp/link provides one)
// and its options.

import type { Clock } from '../../lib/clock.js';
import type { BlockLimits } from '../blocks/engine.js';
import type { CryptoProvider } from '../crypto/provider.js';
import type { SessionKeys } from '../handshake/keys.js';
import type { Association } from './association.js';
import type { SessionContinuityOptions } from './failover.js';

/** The part of an RN stitch a session uses (src/uzp/link provides it). */
export interface StitchPort {
  readonly id: number;
  /** CID of the RN carrying the stitch (PoR binds it, draft §12.1); absent on test stitches. */
  readonly rnCid?: Uint8Array;
  /** Largest payload send() takes (an RN stitch: its max_frame less the RELAY header); absent: no limit. */
  readonly maxPayload?: number;
  send(payload: Uint8Array): boolean;
  /**
   * Optional: send() of the payload made of `pieces` in order (a sealed block: header, ciphertext,
   * tag), written without joining them. A stitch without it gets the pieces joined.
   */
  sendPieces?(pieces: readonly Uint8Array[]): boolean;
  /** Optional: what was sent this turn leaves now, not at the end of the turn (a handshake flight). */
  flush?(): void;
  /**
   * `transient`: cb uses each payload synchronously and keeps no reference, so the stitch may pass
   * views into a reused read buffer (src/uzp/link/stitch.ts Stitch.onPayload); otherwise each
   * payload is the consumer's own.
   */
  onPayload(cb: (payload: Uint8Array) => void, opts?: { readonly transient?: boolean }): void;
  onClose(cb: (error?: Error) => void): void;
  onDrain(cb: () => void): void;
  close(): void;
  /** Optional: the path is suspected dead (PoR failed); the link checks its RN at once. */
  suspect?(): void;
}

export interface SessionOptions {
  readonly provider: CryptoProvider;
  readonly keys: SessionKeys;
  readonly association: Association;
  readonly limits?: Partial<BlockLimits>;
  /** Time source for the engine and every session timer; default systemClock. */
  readonly clock?: Clock;
  /**
   * Both sides announced continuity (EXT_CONTINUITY): the session survives the loss of its stitch
   * (failover until re-stitched or the window ends) and runs PoR liveness. Without it, losing the
   * stitch ends the session, as for a peer that does not know continuity.
   */
  readonly continuity?: SessionContinuityOptions;
}

