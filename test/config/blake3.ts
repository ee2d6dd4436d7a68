// An independent BLAKE3 for checking the config digest: @noble/hashes directly, not the provider.

import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export function blake3Hex(text: string): string {
  return bytesToHex(blake3(new TextEncoder().encode(text), { dkLen: 32 }));
}
