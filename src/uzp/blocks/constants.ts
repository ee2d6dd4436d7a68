// Wire constants of the block layer (docs/PROFILE.md). Draft §7 fixes the semantics
// (numbered AEAD blocks carrying frames, selective acknowledgement, AD binding) and leaves the bytes
// to a profile; these are ours. Implementation tunables live in limits.ts, not here.

/** Block type byte: 0b0001_00sp, s = number space, p = key phase. Any other first byte is not a block. */
const BLOCK_TYPE_BASE = 0x10;
const BLOCK_TYPE_MASK = 0xfc;
export const BLOCK_SPACE_BIT = 0x02;
export const BLOCK_PHASE_BIT = 0x01;

/** Number spaces: data blocks are reliable and ack-eliciting; ack blocks are neither. */
export const SPACE_DATA = 0;
export const SPACE_ACK = 1;
export type Space = typeof SPACE_DATA | typeof SPACE_ACK;

/** type u8 || number u64be. */
export const BLOCK_HEADER_LENGTH = 9;

/** Frame types inside a data block's plaintext. */
export const FRAME_PADDING = 0x00;
export const FRAME_MSG = 0x01;
export const FRAME_CLOSE = 0x02;
export const FRAME_PING = 0x03;

/** MSG flags; all other bits are reserved and must be zero. */
export const MSG_FLAG_FIN = 0x01;
export const MSG_FLAG_CHANNEL_CLOSE = 0x02;
export const MSG_FLAGS_KNOWN = MSG_FLAG_FIN | MSG_FLAG_CHANNEL_CLOSE;

/**
 * Smallest block plaintext a responder may announce in EE (the handshake fails below it), and the
 * least a sender ever packs into a block (docs/PROFILE.md, Transport parameters).
 */
export const MIN_BLOCK_PLAINTEXT = 1024;

/** 0x01 || channel u32 || flags u8 || len u32. */
export const MSG_HEADER_LENGTH = 10;
/** 0x02 || code u16 || reason length u16 (the reason follows). */
export const CLOSE_HEADER_LENGTH = 5;
export const CLOSE_REASON_MAX = 256;

/** Ack block plaintext: largest u64 || ack_delay_us u32 || count u16 || count × (first u64 || last u64). */
export const ACK_HEADER_LENGTH = 14;
export const ACK_RANGE_LENGTH = 16;
export const ACK_MAX_RANGES = 64;
export const ACK_MAX_LENGTH = ACK_HEADER_LENGTH + ACK_MAX_RANGES * ACK_RANGE_LENGTH;

/** Draft §7: "a context-specific label (e.g. "uzp-application")" — one per number space. */
export const LABEL_DATA = 'uzp-application';
export const LABEL_ACK = 'uzp-ack';

/** cid_i || eid_i || cid_r || eid_r, 32 bytes each. */
export const AD_CONTEXT_LENGTH = 128;

/**
 * Replay window (RFC 6479 §2 bitmap ring, as in wireguard-go): 256 words of 32 bits. One word is
 * kept as slack so that advancing the window clears whole words, leaving 255 × 32 = 8,160 numbers
 * below the highest one seen (the architecture asks for at least 8,128).
 */
export const REPLAY_WORDS = 256;
export const REPLAY_WINDOW = (REPLAY_WORDS - 1) * 32;

/** Loss detection by reordering threshold (RFC 9002 §6.1.1 kPacketThreshold). */
export const PACKET_THRESHOLD = 3;

/** Do not start a fragment in the tail of a block when fewer than this many data bytes would fit. */
export const MIN_FRAGMENT = 512;

/**
 * The send queue holds at most sendBufferBytes / QUEUED_MESSAGE_MIN_CHARGE messages (65,536 at the
 * default 2 MiB), whatever their size: sendBufferBytes alone would let a sender of empty messages
 * queue without end. 2 MiB of 64-byte messages (32,768) stays under the count.
 */
export const QUEUED_MESSAGE_MIN_CHARGE = 32;

/** RFC 6298 §2 clock granularity G, in ms. */
export const CLOCK_GRANULARITY_MS = 1;

/**
 * CLOSE codes the block layer itself sends. Deliberately generic (a peer never learns why it was
 * refused); the full error stays local in onClose. Codes 0x0100 and up are free for the session
 * and applications.
 */
export const CloseCode = {
  NO_ERROR: 0x0000,
  PROTOCOL_VIOLATION: 0x0001,
  LIMIT_REACHED: 0x0002,
} as const;

export function isBlockType(b: number): boolean {
  return (b & BLOCK_TYPE_MASK) === BLOCK_TYPE_BASE;
}

export function blockType(space: Space, phase: number): number {
  return BLOCK_TYPE_BASE | (space << 1) | (phase & 1);
}
