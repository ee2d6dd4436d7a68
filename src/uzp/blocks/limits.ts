// Tunables of the block engine with their defaults. Every buffer the engine holds is bounded by one
// of these (ARCHITECTURE.md: "never allocates without bound").

import { MSG_HEADER_LENGTH } from './constants.js';
import { CommonCode, LocalError } from '../../lib/errors.js';

export interface BlockLimits {
  /** Largest data block plaintext we build (an initiator: at most what the responder announced). */
  maxBlockPlaintext: number;
  /**
   * Largest data block plaintext we accept: what a responder announces in EE. Keep it at least
   * BASELINE_BLOCK_PLAINTEXT: a responder builds blocks that large for an initiator, which announces nothing.
   */
  acceptBlockPlaintext: number;
  /** Max unacked data blocks in flight (span from the lowest unacked number). */
  sendWindowBlocks: number;
  /** Bytes queued by send() and not yet packed into a block. */
  sendBufferBytes: number;
  /** Out-of-order data blocks held for in-order delivery; must be >= the peer's send window. */
  recvBufferBlocks: number;
  /** Reassembly bound: one message, and all partial messages together. */
  maxMessageBytes: number;
  ackDelayMs: number;
  /** Send an ack block after this many new data blocks. */
  ackEveryBlocks: number;
  /** RFC 6298 §2.1 initial RTO, and the clamps applied to every RTO. */
  initialRtoMs: number;
  minRtoMs: number;
  maxRtoMs: number;
  /** RTO expiries of one block before the session fails with LINK_TIMEOUT. */
  maxRetransmits: number;
  /** Blocks sealed under one key before a key update (a confidentiality limit: see the defaults). */
  keySoftLimit: number;
  /** Blocks sealed under one key at which the engine closes with SESSION_KEY_LIMIT. */
  keyHardLimit: number;
  /** Failed opens (bad tag) under the current receive key before closing (RFC 9001 §6.6 integrity limit). */
  integrityLimit: number;
}

/**
 * A key update costs a few blocks on each side (a PING to get the new key confirmed, the peer's ack
 * of it, perhaps a duplicate). With a soft limit that small, those blocks alone would trigger the
 * next update on the other side and an idle session would ping-pong forever; from 16 up each update
 * causes well under one further update, so the exchange dies out.
 */
const MIN_KEY_SOFT_LIMIT = 16;

/**
 * The block plaintext every endpoint accepts (docs/PROFILE.md §Bounds). An initiator announces no
 * transport parameters, so a responder builds blocks no larger than this; the initiator builds up to
 * what the responder announced. It was the profile's only block size before 64 KiB blocks: peers
 * built before then accept exactly this much.
 */
export const BASELINE_BLOCK_PLAINTEXT = 32 * 1024;

// Window and buffers are sized for a Pi-class gateway serving a dozen operator sessions: 32 blocks
// of 64 KiB in flight (2 MiB) already cover the bandwidth-delay product of a LAN or a loopback RN
// (measured: 2 and 8 MiB in flight give the same throughput), while 8 MiB would be pinned per
// direction per session on a 512 MB board. 64 KiB blocks rather than 32: every block costs a cipher
// set-up, an ack share and a frame on each of the three processes whatever its size (16 KiB
// messages in e2e-throughput: 0.63-0.73 of TLS at 32 KiB, 0.82 at 64 KiB, back-to-back runs).
export const DEFAULT_BLOCK_LIMITS: Readonly<BlockLimits> = Object.freeze({
  maxBlockPlaintext: 64 * 1024,
  acceptBlockPlaintext: 64 * 1024,
  sendWindowBlocks: 32,
  sendBufferBytes: 2 * 1024 * 1024,
  recvBufferBlocks: 64,
  maxMessageBytes: 1024 * 1024,
  ackDelayMs: 5,
  ackEveryBlocks: 8,
  initialRtoMs: 500,
  minRtoMs: 100,
  maxRtoMs: 10_000,
  maxRetransmits: 12,
  // In bytes, TLS 1.3's AES-GCM bound (RFC 8446 §5.5: 2^24.5 records of 2^14 bytes, 2^38.5 bytes):
  // at 64 KiB blocks the hard limit is 2^38 bytes and the update comes at 2^37.
  keySoftLimit: 2 ** 21,
  keyHardLimit: 2 ** 22,
  integrityLimit: 2 ** 20,
});

/** Defaults overlaid with `partial`, unchecked (resolveLimits checks them). */
export function withDefaults(partial: Partial<BlockLimits> | undefined): BlockLimits {
  return { ...DEFAULT_BLOCK_LIMITS, ...partial };
}

/** Defaults overlaid with `partial`, checked for consistency; throws LocalError CONFIG_INVALID. */
export function resolveLimits(partial: Partial<BlockLimits> | undefined): BlockLimits {
  const l = withDefaults(partial);
  for (const [k, v] of Object.entries(l)) {
    if (!Number.isSafeInteger(v) || v < 0) bad(`${k} must be a non-negative integer, got ${String(v)}`);
  }
  for (const k of ['maxBlockPlaintext', 'acceptBlockPlaintext'] as const) {
    if (l[k] < MSG_HEADER_LENGTH + 1 || l[k] > 16 * 1024 * 1024) bad(`${k} must be between ${MSG_HEADER_LENGTH + 1} and 16 MiB, got ${l[k]}`);
  }
  if (l.sendWindowBlocks < 1 || l.recvBufferBlocks < 1) bad('sendWindowBlocks and recvBufferBlocks must be at least 1');
  if (l.maxMessageBytes > l.sendBufferBytes) {
    bad(`maxMessageBytes (${l.maxMessageBytes}) must not exceed sendBufferBytes (${l.sendBufferBytes}): such a message could never be queued`);
  }
  if (l.ackEveryBlocks < 1) bad('ackEveryBlocks must be at least 1');
  if (l.minRtoMs < 1 || l.minRtoMs > l.maxRtoMs) bad(`need 1 <= minRtoMs (${l.minRtoMs}) <= maxRtoMs (${l.maxRtoMs})`);
  if (l.keySoftLimit < MIN_KEY_SOFT_LIMIT) bad(`keySoftLimit must be at least ${MIN_KEY_SOFT_LIMIT}, got ${l.keySoftLimit}`);
  if (l.keyHardLimit <= l.keySoftLimit) bad(`keyHardLimit (${l.keyHardLimit}) must exceed keySoftLimit (${l.keySoftLimit})`);
  if (l.integrityLimit < 1) bad('integrityLimit must be at least 1');
  return l;
}

function bad(msg: string): never {
  throw new LocalError(CommonCode.CONFIG_INVALID, `block limits: ${msg}`);
}
