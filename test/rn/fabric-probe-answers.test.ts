// Answers to probes (src/rn/fabric/probe-answers.ts; docs/PROFILE.md §Fabric "Liveness of the far
// RN", stitches P does not have): which CREDITs of a probe an RN answers UNKNOWN, what the prober accepts as an
// answer, and the checked-in answer vector (test/vectors/fabric.json `answer`), its tag checked a
// second way with node:crypto from the document alone.

import { createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman, hkdfSync } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/lib/errors.js';
import { HOP_TAG_LENGTH, HopKeys } from '../../src/rn/fabric/hop-keys.js';
import { decodeHops, encodeHopCredit, encodeHopUnknown, encodeHopUnstitch, hopBatchHeader } from '../../src/rn/fabric/messages.js';
import { HopOutbox } from '../../src/rn/fabric/outbox.js';
import { answerProbe, readProbeAnswer } from '../../src/rn/fabric/probe-answers.js';
import { concat, fromHex, toHex } from '../../src/uzp/bytes.js';
import { x25519PrivateFromEd25519Seed } from '../../src/uzp/crypto/ed-to-x25519.js';
import { nodeProvider as p } from '../../src/uzp/crypto/node.js';

interface Signer {
  readonly seed: string;
  readonly public_key: string;
  readonly cid: string;
}
const V = JSON.parse(readFileSync(new URL('../vectors/fabric.json', import.meta.url), 'utf8')) as {
  signer: Signer;
  egress_signer: Signer;
  answer: { sender: string; receiver: string; messages: string; tag: string; hex: string };
};
const keys = new Map([V.signer, V.egress_signer].map((s) => [s.cid, fromHex(s.public_key)]));
const keyOf = (c: Uint8Array): Uint8Array | undefined => keys.get(toHex(c));
/** The prober of the vector (RFC 8032 TEST 1), receiving the answer. */
const prober = new HopKeys(p, fromHex(V.signer.cid), x25519PrivateFromEd25519Seed(p, fromHex(V.signer.seed)), keyOf);
const verify = (s: Uint8Array, a: Uint8Array, t: Uint8Array): boolean => prober.verify(s, a, t);

const R = new Uint8Array(32).fill(0x11);
const X = new Uint8Array(32).fill(0x22);

describe('answering a probe', () => {
  it('names every CREDIT for a stitch this RN does not have with the prober: unknown, or made with another RN; one whose far RN is not known yet counts as had', () => {
    const stitches = new Map<number, { rn: Uint8Array | undefined }>([
      [1, { rn: R }], // ours with the prober
      [2, { rn: X }], // the same id, made with another RN
      [3, { rn: undefined }], // the JOIN reply on its way: the prober may be its egress
    ]);
    const hops = decodeHops(concat(encodeHopCredit(1, 10), encodeHopCredit(2, 0), encodeHopCredit(3, 0), encodeHopCredit(4, 99), encodeHopUnstitch(5, 0)));
    const answer = answerProbe(hops, R, (id) => stitches.get(id));
    expect(answer.map(toHex)).toEqual([encodeHopUnknown(2), encodeHopUnknown(4)].map(toHex));
    // Smaller than what it answers: 5 bytes for each 13-byte CREDIT, at most.
    expect(answerProbe(hops, R, () => undefined).reduce((n, m) => n + m.length, 0)).toBe(4 * 5);
    expect(answerProbe(decodeHops(encodeHopCredit(1, 0)), R, (id) => stitches.get(id))).toEqual([]);
  });
});

describe('reading an answer', () => {
  it('the vector: the prober reads the stitches it names; node:crypto makes the same tag from the document', () => {
    const a = readProbeAnswer(fromHex(V.answer.hex), HOP_TAG_LENGTH, verify);
    expect(a).toEqual({ sender: fromHex(V.answer.sender), stitches: [7, 1007] });
    expect(V.answer.messages).toBe(toHex(concat(encodeHopUnknown(7), encodeHopUnknown(1007))));
    const xPriv = createHash('sha512').update(Buffer.from(V.egress_signer.seed, 'hex')).digest().subarray(0, 32);
    const xPub = Buffer.from(ed25519.utils.toMontgomery(Buffer.from(V.signer.public_key, 'hex')));
    const shared = diffieHellman({
      privateKey: createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), xPriv]), format: 'der', type: 'pkcs8' }),
      publicKey: createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b656e032100', 'hex'), xPub]), format: 'der', type: 'spki' }),
    });
    const key = hkdfSync('sha256', shared, Buffer.from('uzp fabric hop v1'), Buffer.from(V.answer.sender + V.answer.receiver, 'hex'), 32);
    const bytes = Buffer.from(V.answer.hex, 'hex');
    expect(toHex(bytes.subarray(0, 33))).toBe(`02${V.answer.sender}`);
    expect(createHmac('sha256', Buffer.from(key)).update(bytes.subarray(0, -16)).digest().subarray(0, 16).toString('hex')).toBe(V.answer.tag);
  });

  it('one whose tag does not verify counts for nothing; one holding anything but UNKNOWN is malformed', () => {
    const bytes = fromHex(V.answer.hex);
    for (const i of [0, 1, 33, 34, bytes.length - 1]) {
      const m = bytes.slice();
      m[i]! ^= 0x01;
      let r: ReturnType<typeof readProbeAnswer>;
      try {
        r = readProbeAnswer(m, HOP_TAG_LENGTH, verify);
      } catch (e) {
        expect(e).toBeInstanceOf(DecodeError);
        continue;
      }
      expect(r, `byte ${i}`).toBeUndefined();
    }
    // A hop batch of the egress RN to the prober, tagged right, holding an UNSTITCH: not an answer.
    const egress = new HopKeys(p, fromHex(V.egress_signer.cid), x25519PrivateFromEd25519Seed(p, fromHex(V.egress_signer.seed)), keyOf);
    const out = new HopOutbox(() => {}, { header: hopBatchHeader(fromHex(V.egress_signer.cid)), tagLength: HOP_TAG_LENGTH, tag: (rn, b) => egress.tag(rn, b), dropped() {} });
    const unstitch = out.sealed(fromHex(V.signer.cid), [encodeHopUnknown(7), encodeHopUnstitch(7, 3)])!;
    expect(() => readProbeAnswer(unstitch, HOP_TAG_LENGTH, verify)).toThrow(DecodeError);
    expect(readProbeAnswer(out.sealed(fromHex(V.signer.cid), [encodeHopUnknown(9)])!, HOP_TAG_LENGTH, verify)?.stitches).toEqual([9]);
  });
});
