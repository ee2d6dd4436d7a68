// A provider whose randomness is a fixed stream (BLAKE3 XOF of a seed and a counter), so that whole
// handshakes are reproducible byte for byte and can be pinned as vectors in test/vectors/.

import type { CryptoProvider } from '../../src/uzp/crypto/provider.js';
import { utf8, concat } from '../../src/uzp/bytes.js';

export function deterministicProvider(base: CryptoProvider, seed: string): CryptoProvider {
  let counter = 0;
  const randomBytes = (n: number): Uint8Array => {
    const c = new Uint8Array(4);
    new DataView(c.buffer).setUint32(0, counter++);
    return base.blake3(concat(utf8.encode(seed), c), n);
  };
  return {
    ...base,
    randomBytes,
    x25519Generate() {
      const privateKey = randomBytes(32);
      return { privateKey, publicKey: base.x25519PublicKey(privateKey) };
    },
    ed25519Generate() {
      const privateKey = randomBytes(32);
      return { privateKey, publicKey: base.ed25519PublicKey(privateKey) };
    },
    mlkem768Generate: (s) => base.mlkem768Generate(s ?? randomBytes(64)),
    mlkem768Encapsulate: (pk, s) => base.mlkem768Encapsulate(pk, s ?? randomBytes(32)),
  };
}
