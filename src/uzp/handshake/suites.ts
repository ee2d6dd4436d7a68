// Cipher suites (draft §6, §10): each binds key exchange, signature, AEAD and KDF.
// All suites use Ed25519 identity signatures and HKDF-SHA256; they differ in AEAD and in whether the
// key exchange is classical X25519 or the X25519 + ML-KEM-768 hybrid. Tags are always the full
// 128 bits (draft §6.1).

import type { AeadAlgorithm } from '../crypto/provider.js';

export interface Suite {
  readonly id: number;
  readonly name: string;
  readonly aead: AeadAlgorithm;
  readonly hybrid: boolean;
}

export const SUITES: readonly Suite[] = [
  { id: 0x0001, name: 'UZP_X25519_ED25519_CHACHA20POLY1305_SHA256', aead: 'chacha20-poly1305', hybrid: false },
  { id: 0x0002, name: 'UZP_X25519_ED25519_AES256GCM_SHA256', aead: 'aes-256-gcm', hybrid: false },
  { id: 0x0003, name: 'UZP_X25519MLKEM768_ED25519_CHACHA20POLY1305_SHA256', aead: 'chacha20-poly1305', hybrid: true },
];

export const SUITE_CHACHA = 0x0001;
export const SUITE_AESGCM = 0x0002;
export const SUITE_HYBRID = 0x0003;

/**
 * What an initiator offers by default: the classical suites, ChaCha20 first (fast without AES
 * instructions, as on many Pi boards). The hybrid is opt-in because offering it costs an ML-KEM-768
 * key generation (~1-2 ms of pure JS) on every connect, even when the responder picks a classical suite.
 */
export const DEFAULT_OFFER: readonly number[] = [SUITE_CHACHA, SUITE_AESGCM];

/**
 * A responder's default preference: the hybrid whenever the initiator offered it (an initiator that
 * pays for an ML-KEM share asked for post-quantum protection; draft §10), then the classical ones.
 */
export const DEFAULT_RESPONDER_PREFERENCE: readonly number[] = [SUITE_HYBRID, SUITE_CHACHA, SUITE_AESGCM];

export function suiteById(id: number): Suite | undefined {
  return SUITES.find((s) => s.id === id);
}
