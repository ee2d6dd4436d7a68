// Ephemeral keys made ahead of their use (src/uzp/crypto/made-ahead.ts, issue #14): each value is
// handed out once, the next is made after the next I/O poll (two check phases on), and nothing is
// made before the first take.

import { setImmediate as immediate } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { MadeAhead } from '../../../src/uzp/crypto/made-ahead.js';
import { nodeProvider } from '../../../src/uzp/crypto/node.js';

/** Past the check phase after the next I/O poll: where a refill runs. */
const turn = async (): Promise<void> => {
  await immediate();
  await immediate();
};

describe('MadeAhead', () => {
  it('makes nothing until the first take, which is made on the spot; the next is made on a later turn', async () => {
    let made = 0;
    const a = new MadeAhead(() => ++made);
    await turn();
    expect(made).toBe(0);
    expect(a.take()).toBe(1);
    expect(made).toBe(1); // not yet: the refill waits for the turn after this one
    await immediate();
    expect(made).toBe(1); // nor on this turn's check phase: after the next poll
    await immediate();
    expect(made).toBe(2);
    expect(a.take()).toBe(2); // the one made ahead, not a new one
    expect(made).toBe(2);
    await turn();
    expect(made).toBe(3);
  });

  it('hands out every value once, also when takes come faster than refills', async () => {
    let made = 0;
    const a = new MadeAhead(() => ++made);
    const got = [a.take(), a.take(), a.take()]; // one turn: the last two are made on the spot
    await turn();
    got.push(a.take(), a.take());
    await turn();
    got.push(a.take());
    expect(new Set(got).size).toBe(got.length);
    expect(got).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('node provider: X25519 and ML-KEM-768 key pairs made ahead are fresh, once each, and agree in DH / KEM', async () => {
    const keys = [nodeProvider.x25519Generate()];
    await turn();
    keys.push(nodeProvider.x25519Generate(), nodeProvider.x25519Generate());
    const hex = keys.map((k) => Buffer.from(k.privateKey).toString('hex'));
    expect(new Set(hex).size).toBe(3);
    for (const k of keys) {
      expect(nodeProvider.x25519PublicKey(k.privateKey)).toEqual(k.publicKey);
      // The private key has a buffer of its own (no slice of Buffer's shared pool next to other data).
      expect(k.privateKey.byteOffset).toBe(0);
      expect(k.privateKey.buffer.byteLength).toBe(32);
    }
    const [a, b] = keys;
    expect(nodeProvider.x25519(a!.privateKey, b!.publicKey)).toEqual(nodeProvider.x25519(b!.privateKey, a!.publicKey));

    const k1 = nodeProvider.mlkem768Generate();
    await turn();
    const k2 = nodeProvider.mlkem768Generate();
    expect(k1.privateKey).not.toEqual(k2.privateKey);
    const { cipherText, sharedSecret } = nodeProvider.mlkem768Encapsulate(k2.publicKey);
    expect(nodeProvider.mlkem768Decapsulate(cipherText, k2.privateKey)).toEqual(sharedSecret);
    // A seeded key is still the seed's, made on the spot (vectors depend on it).
    const seed = new Uint8Array(64).fill(3);
    expect(nodeProvider.mlkem768Generate(seed).publicKey).toEqual(nodeProvider.mlkem768Generate(seed).publicKey);
  });
});
