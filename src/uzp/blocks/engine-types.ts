// The block engine's interface types: what the session driver passes in and can read back.

import type { AeadAlgorithm, CryptoProvider } from '../crypto/provider.js';
import type { UzpError } from '../errors.js';
import type { BlockLimits } from './limits.js';

export interface BlockEngineOptions {
  provider: CryptoProvider;
  aead: AeadAlgorithm;
  /** Traffic secrets from the handshake, 32 bytes each. */
  sendSecret: Uint8Array;
  recvSecret: Uint8Array;
  /** cid_i || eid_i || cid_r || eid_r (128 bytes), bound into every block's AD. */
  adContext: Uint8Array;
  /** Our sending direction: 0 initiator->responder, 1 responder->initiator. */
  direction: 0 | 1;
  /** Monotonic milliseconds (a fake clock in tests). */
  now(): number;
  limits?: Partial<BlockLimits>;
  /** A complete message, in order; `message` may be a view into a block plaintext (owned by the callee from now on). */
  onMessage(channel: number, message: Uint8Array, channelClosed: boolean): void;
  /** A send() returned false and there is now room for a message of that size. Called from poll(). */
  onWritable(): void;
  /**
   * Called once when the engine reaches the closed state: peer CLOSE (error undefined, remoteCode,
   * remoteReason), our own close() fully acknowledged (both undefined), or a local failure (error).
   */
  onClose(error: UzpError | undefined, remoteCode?: number, remoteReason?: string): void;
  /** A received block was dropped (bad tag, replay, junk...): for debug counters and logs. */
  onDrop?(reason: string): void;
}

export interface BlockEngineStats {
  /** Blocks returned by poll(), of both spaces, retransmissions included. */
  blocksSent: number;
  /** Blocks that authenticated. */
  blocksReceived: number;
  retransmits: number;
  dropped: number;
  /** Key updates of our sending direction. */
  keyUpdates: number;
  bytesSent: number;
  bytesReceived: number;
  /** Smoothed RTT (RFC 6298 SRTT); undefined before the first sample. */
  rttMs: number | undefined;
}

/** Internal sizes for tests and debugging: a snapshot, never a handle on internals. */
export interface BlockEngineInspection {
  state: 'open' | 'closing' | 'closed';
  queuedBytes: number;
  queuedMessages: number;
  inFlightBlocks: number;
  /** next data number - lowest unacknowledged: never above sendWindowBlocks. */
  inFlightSpan: number;
  recvBufferedBlocks: number;
  nextExpected: number;
  reassemblyBytes: number;
  sendPhase: number;
  sendGeneration: number;
  recvGeneration: number;
  /** Older send keys still held for in-flight blocks. */
  retainedSendKeys: number;
  sealedUnderKey: number;
  failedOpens: number;
  rtoMs: number;
}

export function newStats(): BlockEngineStats {
  return { blocksSent: 0, blocksReceived: 0, retransmits: 0, dropped: 0, keyUpdates: 0, bytesSent: 0, bytesReceived: 0, rttMs: undefined };
}
