// Codes of `uzpgw flash` beyond the file and config ones (fault: local; the message says what to do).
// Raised as LocalError (lib/errors.ts).

export const FlashErrorCode = {
  /** The board runs no userland this release ships a Node runtime for (32-bit-only ARM boards). */
  BOARD_ARCH_UNSUPPORTED: 'BOARD_ARCH_UNSUPPORTED',
  /** The pinned runtime for the chosen architecture is neither installed, cached, nor fetchable. */
  RUNTIME_UNAVAILABLE: 'RUNTIME_UNAVAILABLE',
  /** A runtime found or fetched is not the pinned one (integrity, version or CPU differs). */
  RUNTIME_MISMATCH: 'RUNTIME_MISMATCH',
} as const;
export type FlashErrorCode = (typeof FlashErrorCode)[keyof typeof FlashErrorCode];
