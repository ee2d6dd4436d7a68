// The rendezvous fabric's messages (src/rn/fabric/messages.ts; docs/PROFILE.md §Fabric): the
// checked-in vectors (test/vectors/fabric.json) decode to their fields and encode to their bytes;
// the JOIN request's and the replies' signatures are checked a second way with node:crypto from the
// document alone;
// round trips hold for any fields (fast-check); junk and mutations throw only DecodeError; the
// signer rules (an RN the current set does not list, a signature that does not verify) hold.

import { createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman, hkdfSync, verify } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/lib/errors.js';
import { decodeFabricJoin, decodeFabricJoinReply, decodeHop, decodeHops, encodeFabricJoin, encodeFabricJoinReply, encodeHopCredit, encodeHopData, encodeHopUnknown, encodeHopUnstitch, HOP_BATCH_HEADER, hopBatchHeader, splitHopBatch, type FabricJoin } from '../../src/rn/fabric/messages.js';
import { HOP_TAG_LENGTH, HopKeys } from '../../src/rn/fabric/hop-keys.js';
import { x25519PrivateFromEd25519Seed } from '../../src/uzp/crypto/ed-to-x25519.js';
import { concat, fromHex, toHex } from '../../src/uzp/bytes.js';
import { BATCH_BYTES, HopOutbox } from '../../src/rn/fabric/outbox.js';
import { nodeProvider as p } from '../../src/uzp/crypto/node.js';

interface Vec {
  readonly name?: string;
  readonly fields: Record<string, string | number>;
  readonly hex: string;
}
interface Signer {
  readonly seed: string;
  readonly public_key: string;
  readonly cid: string;
}
interface BatchVec {
  readonly sender: string;
  readonly receiver: string;
  readonly key: string;
  readonly messages: string;
  readonly tag: string;
  readonly hex: string;
}
const V = JSON.parse(readFileSync(new URL('../vectors/fabric.json', import.meta.url), 'utf8')) as { signer: Signer; egress_signer: Signer; join: Vec; replies: Vec[]; hops: Vec[]; batch: BatchVec };
const signer = p.signer(fromHex(V.signer.seed));
const egressSigner = p.signer(fromHex(V.egress_signer.seed));
/** The RNs of the vectors' RN Set: the ingress (JOIN signer) and the egress (reply signer). */
const keyOf = (cid: Uint8Array): Uint8Array | undefined => (toHex(cid) === V.signer.cid ? signer.publicKey : toHex(cid) === V.egress_signer.cid ? egressSigner.publicKey : undefined);

/** Ed25519 verification by node:crypto from the document alone: `label` ‖ every byte before the last 64. */
function verifiedByNode(hex: string, label: string, publicKey: string): boolean {
  const bytes = Buffer.from(hex, 'hex');
  // SPKI DER for an Ed25519 public key: fixed 12-byte prefix, then the 32 key bytes.
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(publicKey, 'hex')]);
  const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  return verify(null, Buffer.concat([Buffer.from(label), bytes.subarray(0, bytes.length - 64)]), key, bytes.subarray(bytes.length - 64));
}

const hex = (v: unknown): unknown => (v instanceof Uint8Array ? toHex(v) : v);
const snake = (o: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), hex(v)]));

describe('fabric vectors (test/vectors/fabric.json)', () => {
  it('the JOIN request decodes to its fields, verifies under the ingress RN key, and re-encodes to its bytes', () => {
    const d = decodeFabricJoin(p, fromHex(V.join.hex), keyOf);
    expect(d.signer).toBe('valid');
    expect(snake(d.join as unknown as Record<string, unknown>)).toEqual(V.join.fields);
    const f = V.join.fields;
    const again: FabricJoin = { ingress: fromHex(String(f.ingress)), ingressStitch: Number(f.ingress_stitch), atMs: Number(f.at_ms), initiator: fromHex(String(f.initiator)), target: fromHex(String(f.target)), grant: fromHex(String(f.grant)), ch1: fromHex(String(f.ch1)) };
    expect(toHex(encodeFabricJoin(again, signer))).toBe(V.join.hex);
  });

  it('the JOIN signature, checked from the document: Ed25519 over "uzp fabric join v1" || every byte before the last 64', () => {
    expect(verifiedByNode(V.join.hex, 'uzp fabric join v1', V.signer.public_key)).toBe(true);
    const body = Buffer.from(V.join.hex, 'hex').subarray(0, -64);
    // The layout by offsets: version, ingress CID, ingress stitch, at_ms.
    expect(body[0]).toBe(2);
    expect(body.subarray(1, 33).toString('hex')).toBe(V.signer.cid);
    expect(body.readUInt32BE(33)).toBe(7);
    expect(Number(body.readBigUInt64BE(37))).toBe(V.join.fields.at_ms);
  });

  it.each(V.replies.map((r) => [r.name!, r] as const))('JOIN reply %s: decodes to its fields, verifies under the egress RN key, re-encodes to its bytes; node:crypto verifies it from the document', (_n, r) => {
    const { reply: d, signer: verdict } = decodeFabricJoinReply(p, fromHex(r.hex), keyOf);
    expect(verdict).toBe('valid');
    const fields = { version: 2, status: d.ok ? 0 : 1, ingress: toHex(d.ingress), ingress_stitch: d.ingressStitch, at_ms: d.atMs, egress: toHex(d.egress), egress_stitch: d.ok ? d.egressStitch : 0, code: d.ok ? 0 : d.code };
    expect(fields).toEqual(r.fields);
    expect(toHex(encodeFabricJoinReply(d, egressSigner))).toBe(r.hex);
    expect(verifiedByNode(r.hex, 'uzp fabric reply v1', V.egress_signer.public_key)).toBe(true);
    // The layout by offsets: version, status, ingress, ingress_stitch, at_ms, egress, egress_stitch, code, signature.
    const b = Buffer.from(r.hex, 'hex');
    expect(b.length).toBe(147);
    expect([b[0], b[1], b.subarray(2, 34).toString('hex'), b.readUInt32BE(34), Number(b.readBigUInt64BE(38)), b.subarray(46, 78).toString('hex'), b.readUInt32BE(78), b[82]]).toEqual(
      [2, r.fields.status, r.fields.ingress, r.fields.ingress_stitch, r.fields.at_ms, r.fields.egress, r.fields.egress_stitch, r.fields.code],
    );
  });

  it('a JOIN reply from an RN the set does not hold is "unknown"; a changed byte anywhere is "bad" or a DecodeError', () => {
    for (const r of V.replies) {
      const bytes = fromHex(r.hex);
      expect(decodeFabricJoinReply(p, bytes, () => undefined).signer).toBe('unknown');
      for (let i = 0; i < bytes.length; i++) {
        const m = bytes.slice();
        m[i]! ^= 0x40;
        let verdict: string;
        try {
          verdict = decodeFabricJoinReply(p, m, keyOf).signer;
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
          continue;
        }
        expect(verdict, `${r.name} byte ${i}`).not.toBe('valid');
      }
    }
  });

  it('the hop batch: the implementation splits it and verifies its tag at the receiver; node:crypto derives the same key and tag from the document', () => {
    const B = V.batch;
    // Receiver side (RN TEST 2), by the implementation.
    const receiver = new HopKeys(p, fromHex(B.receiver), x25519PrivateFromEd25519Seed(p, fromHex(V.egress_signer.seed)), keyOf);
    const b = splitHopBatch(fromHex(B.hex), HOP_TAG_LENGTH);
    expect([toHex(b.sender), toHex(b.messages), toHex(b.tag)]).toEqual([B.sender, B.messages, B.tag]);
    expect(receiver.verify(b.sender, b.authenticated, b.tag)).toBe(true);
    expect(decodeHops(b.messages).map((h) => h.type)).toEqual([1, 2, 3]);
    // From the document: X25519 forms of the two Ed25519 keys, HKDF-SHA256, HMAC-SHA256 cut to 16.
    const xPriv = createHash('sha512').update(Buffer.from(V.signer.seed, 'hex')).digest().subarray(0, 32);
    const xPub = Buffer.from(ed25519.utils.toMontgomery(Buffer.from(V.egress_signer.public_key, 'hex')));
    const shared = diffieHellman({
      privateKey: createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), xPriv]), format: 'der', type: 'pkcs8' }),
      publicKey: createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b656e032100', 'hex'), xPub]), format: 'der', type: 'spki' }),
    });
    const key = Buffer.from(hkdfSync('sha256', shared, Buffer.from('uzp fabric hop v1'), Buffer.from(B.sender + B.receiver, 'hex'), 32));
    expect(key.toString('hex')).toBe(B.key);
    const bytes = Buffer.from(B.hex, 'hex');
    expect(bytes[0]).toBe(2);
    expect(bytes.subarray(1, 33).toString('hex')).toBe(B.sender);
    expect(createHmac('sha256', key).update(bytes.subarray(0, -16)).digest().subarray(0, 16).toString('hex')).toBe(B.tag);
    // Direction matters: the receiver's own key for the other way does not make this tag.
    const back = Buffer.from(hkdfSync('sha256', shared, Buffer.from('uzp fabric hop v1'), Buffer.from(B.receiver + B.sender, 'hex'), 32));
    expect(createHmac('sha256', back).update(bytes.subarray(0, -16)).digest().subarray(0, 16).toString('hex')).not.toBe(B.tag);
  });

  it('a hop batch with any byte changed, or claiming another sender, does not verify', () => {
    const receiver = new HopKeys(p, fromHex(V.batch.receiver), x25519PrivateFromEd25519Seed(p, fromHex(V.egress_signer.seed)), keyOf);
    const bytes = fromHex(V.batch.hex);
    for (let i = 0; i < bytes.length; i++) {
      const m = bytes.slice();
      m[i]! ^= 0x01;
      let ok: boolean;
      try {
        const b = splitHopBatch(m, HOP_TAG_LENGTH);
        ok = receiver.verify(b.sender, b.authenticated, b.tag);
      } catch (e) {
        expect(e).toBeInstanceOf(DecodeError);
        continue;
      }
      expect(ok, `byte ${i}`).toBe(false);
    }
    // A sender the receiver holds no eligible key for (keyOf undefined) never verifies.
    const deaf = new HopKeys(p, fromHex(V.batch.receiver), x25519PrivateFromEd25519Seed(p, fromHex(V.egress_signer.seed)), () => undefined);
    const b = splitHopBatch(bytes, HOP_TAG_LENGTH);
    expect(deaf.verify(b.sender, b.authenticated, b.tag)).toBe(false);
  });

  it.each(V.hops.map((h) => [h.name!, h] as const))('hop %s', (_n, h) => {
    const d = decodeHop(fromHex(h.hex));
    expect(snake(d as unknown as Record<string, unknown>)).toEqual(h.fields);
    const again = d.type === 1 ? encodeHopData(d.stitch, d.offset, d.frame) : d.type === 2 ? encodeHopCredit(d.stitch, d.consumed) : d.type === 3 ? encodeHopUnstitch(d.stitch, d.code) : encodeHopUnknown(d.stitch);
    expect(toHex(again)).toBe(h.hex);
  });
});

const cid = fc.uint8Array({ minLength: 32, maxLength: 32 });
const u32 = fc.integer({ min: 1, max: 0xffffffff });
const joinArb = fc.record({ ingress: fc.constant(fromHex(V.signer.cid)), ingressStitch: u32, atMs: fc.maxSafeNat(), initiator: cid, target: cid, grant: fc.uint8Array({ maxLength: 300 }), ch1: fc.uint8Array({ maxLength: 300 }) });

describe('fabric codecs: properties and junk', () => {
  it('JOIN request round trip, signature valid', () => {
    fc.assert(
      fc.property(joinArb, (j) => {
        const d = decodeFabricJoin(p, encodeFabricJoin(j, signer), keyOf);
        expect(d.signer).toBe('valid');
        expect(d.join).toEqual(j);
      }),
      { numRuns: 200 },
    );
  });

  it('an RN the current RN Set does not list is "unknown"; a changed byte anywhere is "bad" or a DecodeError', () => {
    const j = { ingress: fromHex(V.signer.cid), ingressStitch: 5, atMs: 1, initiator: new Uint8Array(32), target: new Uint8Array(32).fill(1), grant: Uint8Array.of(9), ch1: Uint8Array.of(8) };
    const bytes = encodeFabricJoin(j, signer);
    expect(decodeFabricJoin(p, bytes, () => undefined).signer).toBe('unknown');
    for (let i = 0; i < bytes.length; i++) {
      const m = bytes.slice();
      m[i]! ^= 0x40;
      let verdict: string;
      try {
        verdict = decodeFabricJoin(p, m, keyOf).signer;
      } catch (e) {
        expect(e).toBeInstanceOf(DecodeError);
        continue;
      }
      expect(verdict, `byte ${i}`).not.toBe('valid');
    }
  });

  it('hop round trips for any stitch, offset and RELAY frame', () => {
    fc.assert(
      fc.property(u32, fc.maxSafeNat(), fc.uint8Array({ maxLength: 500 }), u32, (stitch, offset, payload, other) => {
        const frame = new Uint8Array(9 + payload.length);
        new DataView(frame.buffer).setUint32(0, 5 + payload.length);
        frame[4] = 0x20;
        new DataView(frame.buffer).setUint32(5, other);
        frame.set(payload, 9);
        const d = decodeHop(encodeHopData(stitch, offset, frame));
        expect(d).toMatchObject({ type: 1, stitch, offset });
        // The frame carries the receiver's stitch id; the rest is the sender's frame as it was.
        expect(toHex((d as { frame: Uint8Array }).frame.subarray(9))).toBe(toHex(payload));
        expect(decodeHop(encodeHopCredit(stitch, offset))).toEqual({ type: 2, stitch, consumed: offset });
        expect(decodeHop(encodeHopUnstitch(stitch, other & 0xff))).toEqual({ type: 3, stitch, code: other & 0xff });
      }),
    );
  });

  it('a batch is hop messages back to back: the outbox writes what the single encoders write, and decodeHops reads them in order', () => {
    const frameOf = (payload: Uint8Array, stitch: number): Uint8Array => {
      const f = new Uint8Array(9 + payload.length);
      new DataView(f.buffer).setUint32(0, 5 + payload.length);
      f[4] = 0x20;
      new DataView(f.buffer).setUint32(5, stitch);
      f.set(payload, 9);
      return f;
    };
    const op = fc.oneof(
      fc.record({ t: fc.constant('data' as const), stitch: u32, offset: fc.maxSafeNat(), payload: fc.uint8Array({ maxLength: 3000 }) }),
      fc.record({ t: fc.constant('credit' as const), stitch: u32, consumed: fc.maxSafeNat() }),
      fc.record({ t: fc.constant('unstitch' as const), stitch: u32, code: fc.integer({ min: 0, max: 255 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), (ops) => {
        const sent: Uint8Array[] = [];
        const rn = new Uint8Array(32).fill(3);
        const sender = new Uint8Array(32).fill(4);
        const tag = new Uint8Array(HOP_TAG_LENGTH).fill(0xaa);
        const out = new HopOutbox((to, bytes) => (expect(toHex(to)).toBe(toHex(rn)), sent.push(bytes.slice())), {
          header: hopBatchHeader(sender),
          tagLength: HOP_TAG_LENGTH,
          tag: (to, batch) => (expect(toHex(batch.subarray(0, HOP_BATCH_HEADER))).toBe(toHex(hopBatchHeader(sender))), tag),
          dropped: () => expect.fail('nothing is dropped here'),
        });
        const singles: Uint8Array[] = [];
        for (const o of ops) {
          if (o.t === 'data') {
            out.data(rn, o.stitch, o.offset, frameOf(o.payload, 99));
            singles.push(encodeHopData(o.stitch, o.offset, frameOf(o.payload, 99)));
          } else if (o.t === 'credit') {
            out.credit(rn, o.stitch, o.consumed);
            singles.push(encodeHopCredit(o.stitch, o.consumed));
          } else {
            out.unstitch(rn, o.stitch, o.code);
            singles.push(encodeHopUnstitch(o.stitch, o.code));
          }
        }
        out.flush();
        // Each batch is the header, messages, the tag; batches close at BATCH_BYTES of messages,
        // and together their messages are the single messages back to back.
        const parts = sent.map((b) => splitHopBatch(b, HOP_TAG_LENGTH));
        for (const b of parts) expect([toHex(b.sender), toHex(b.tag)]).toEqual([toHex(sender), toHex(tag)]);
        expect(toHex(concat(...parts.map((b) => b.messages)))).toBe(toHex(concat(...singles)));
        for (const b of parts.slice(0, -1)) expect(b.messages.length).toBeGreaterThanOrEqual(BATCH_BYTES);
        expect(parts.flatMap((b) => decodeHops(b.messages)).map((h) => h.type)).toEqual(ops.map((o) => ({ data: 1, credit: 2, unstitch: 3 })[o.t]));
      }),
      { numRuns: 300 },
    );
  });

  it('10,000 junk and mutated inputs to each decoder throw only DecodeError', () => {
    const valid = [fromHex(V.join.hex), ...V.replies.map((r) => fromHex(r.hex)), ...V.hops.map((h) => fromHex(h.hex)), fromHex(V.batch.hex)];
    const junk = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.tuple(fc.constantFrom(...valid), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([b, i, x]) => {
        const m = b.slice();
        if (m.length > 0) m[i % m.length] = x;
        return m;
      }),
      fc.tuple(fc.constantFrom(...valid), fc.nat()).map(([b, n]) => b.subarray(0, n % (b.length + 1))),
    );
    fc.assert(
      fc.property(junk, (b) => {
        for (const decode of [(x: Uint8Array) => decodeFabricJoin(p, x, keyOf), (x: Uint8Array) => decodeFabricJoinReply(p, x, keyOf), decodeHop, decodeHops, (x: Uint8Array) => splitHopBatch(x, HOP_TAG_LENGTH)]) {
          try {
            decode(b);
          } catch (e) {
            expect(e).toBeInstanceOf(DecodeError);
          }
        }
      }),
      { numRuns: 10_000 },
    );
  });
});
