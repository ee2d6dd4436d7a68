// test/vectors/blocks.json: frames and acks (hand-written from the profile), blocks and an engine
// exchange (generated once). The block vectors are re-derived here a second way, straight from the
// profile text with node:crypto, so a bug in the block layer cannot vouch for itself.

import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { createCipheriv, createHmac } from 'node:crypto';
import { decodeFrames, encodeFrames, type Frame } from '../../../src/uzp/blocks/frames.js';
import { decodeAck, encodeAck, type AckFrame } from '../../../src/uzp/blocks/ack.js';
import { AdTemplate, deriveKeyMaterial, fillNonce, openBlock, sealBlock } from '../../../src/uzp/blocks/protect.js';
import { BlockEngine } from '../../../src/uzp/blocks/engine.js';
import { nextTrafficSecret, trafficKey } from '../../../src/uzp/keyschedule.js';
import { PROVIDERS } from '../../../src/uzp/crypto/index.js';
import type { AeadAlgorithm } from '../../../src/uzp/crypto/provider.js';
import { fromHex, toHex } from '../../../src/uzp/bytes.js';
import { DecodeError } from '../../../src/lib/errors.js';

interface JsonFrame {
  type: string;
  channel?: number;
  fin?: boolean;
  channelClose?: boolean;
  data?: string;
  code?: number;
  reason?: string;
  length?: number;
}
interface BlockVector {
  name: string;
  aead: AeadAlgorithm;
  baseSecret: string;
  generation: number;
  secret: string;
  key: string;
  iv: string;
  adContext: string;
  direction: 0 | 1;
  type: number;
  number: number;
  plaintext: string;
  nonce: string;
  ad: string;
  block: string;
}
const V = JSON.parse(readFileSync(new URL('../../vectors/blocks.json', import.meta.url), 'utf8')) as {
  frames: { name: string; frames: JsonFrame[]; hex: string }[];
  badFrames: { name: string; hex: string; code: string }[];
  acks: { name: string; ack: AckFrame; hex: string }[];
  badAcks: { name: string; hex: string; code: string }[];
  blocks: BlockVector[];
  engine: {
    name: string;
    aead: AeadAlgorithm;
    initiatorSendSecret: string;
    responderSendSecret: string;
    adContext: string;
    messages: { channel: number; data: string; closeChannel: boolean }[];
    initiatorBlocks: string[];
    ackDelayMs: number;
    responderBlocks: string[];
  }[];
};

function toFrame(f: JsonFrame): Frame {
  if (f.type === 'msg') return { type: 'msg', channel: f.channel!, fin: f.fin!, channelClose: f.channelClose!, data: fromHex(f.data!) };
  if (f.type === 'close') return { type: 'close', code: f.code!, reason: f.reason! };
  if (f.type === 'padding') return { type: 'padding', length: f.length! };
  return { type: 'ping' };
}

describe('block vectors: frames and acks', () => {
  it.each(V.frames)('frames: $name', (v) => {
    const frames = v.frames.map(toFrame);
    expect(toHex(encodeFrames(frames))).toBe(v.hex);
    expect(decodeFrames(fromHex(v.hex))).toEqual(frames);
  });

  it.each(V.badFrames)('rejects frames: $name', (v) => {
    expect(() => decodeFrames(fromHex(v.hex))).toThrow(DecodeError);
    expect(() => decodeFrames(fromHex(v.hex))).toThrow(expect.objectContaining({ code: v.code }));
  });

  it.each(V.acks)('ack: $name', (v) => {
    expect(toHex(encodeAck(v.ack))).toBe(v.hex);
    expect(decodeAck(fromHex(v.hex))).toEqual(v.ack);
  });

  it.each(V.badAcks)('rejects ack: $name', (v) => {
    expect(() => decodeAck(fromHex(v.hex))).toThrow(DecodeError);
    expect(() => decodeAck(fromHex(v.hex))).toThrow(expect.objectContaining({ code: v.code }));
  });
});

/** HKDF-Expand-Label from docs/PROFILE.md §Key schedule, written out with node:crypto HMAC. */
function expandLabel(secret: Buffer, label: string, length: number): Buffer {
  const full = Buffer.from('uzp-gw/1 ' + label);
  const info = Buffer.concat([Buffer.from([length >> 8, length & 0xff, full.length]), full, Buffer.from([0])]);
  let t = Buffer.alloc(0);
  const out: Buffer[] = [];
  for (let i = 1; Buffer.concat(out).length < length; i++) {
    t = createHmac('sha256', secret).update(Buffer.concat([t, info, Buffer.from([i])])).digest();
    out.push(t);
  }
  return Buffer.concat(out).subarray(0, length);
}

/** The block exactly as docs/PROFILE.md describes it, independent of src/uzp/blocks. */
function independentBlock(v: BlockVector): { key: Buffer; iv: Buffer; nonce: Buffer; ad: Buffer; block: Buffer } {
  let secret: Buffer = Buffer.from(v.baseSecret, 'hex');
  for (let g = 0; g < v.generation; g++) secret = expandLabel(secret, 'traffic upd', 32);
  const key = expandLabel(secret, 'key', 32);
  const iv = expandLabel(secret, 'iv', 12);
  const number = Buffer.alloc(8);
  number.writeBigUInt64BE(BigInt(v.number));
  const space = (v.type >> 1) & 1;
  const mask = Buffer.concat([Buffer.from([0, 0, 0, space]), number]);
  const nonce = Buffer.from(iv.map((b, i) => b ^ mask[i]!));
  const label = Buffer.from(space === 0 ? 'uzp-application' : 'uzp-ack');
  const ad = Buffer.concat([Buffer.from([label.length]), label, Buffer.from(v.adContext, 'hex'), Buffer.from([v.direction, v.type]), number]);
  const c = createCipheriv(v.aead, key, nonce, { authTagLength: 16 } as never) as unknown as {
    setAAD(b: Buffer, o: object): void;
    update(b: Buffer): Buffer;
    final(): Buffer;
    getAuthTag(): Buffer;
  };
  const pt = Buffer.from(v.plaintext, 'hex');
  c.setAAD(ad, { plaintextLength: pt.length });
  const ct = Buffer.concat([c.update(pt), c.final()]);
  const block = Buffer.concat([Buffer.from([v.type]), number, ct, c.getAuthTag()]);
  return { key, iv, nonce, ad, block };
}

describe('block vectors: protected blocks', () => {
  it.each(V.blocks)('independent recomputation from the profile text: $name', (v) => {
    const r = independentBlock(v);
    expect(r.key.toString('hex')).toBe(v.key);
    expect(r.iv.toString('hex')).toBe(v.iv);
    expect(r.nonce.toString('hex')).toBe(v.nonce);
    expect(r.ad.toString('hex')).toBe(v.ad);
    expect(r.block.toString('hex')).toBe(v.block);
  });

  for (const provider of PROVIDERS) {
    it.each(V.blocks)(`block layer, ${provider.name} provider: $name`, (v) => {
      let secret = fromHex(v.baseSecret);
      for (let g = 0; g < v.generation; g++) secret = nextTrafficSecret(provider, secret);
      expect(toHex(secret)).toBe(v.secret);
      const { key, iv } = trafficKey(provider, secret);
      expect([toHex(key), toHex(iv)]).toEqual([v.key, v.iv]);
      const km = deriveKeyMaterial(provider, v.aead, secret, v.generation);
      const ad = new AdTemplate(fromHex(v.adContext), v.direction);
      expect(toHex(ad.for(v.type, v.number))).toBe(v.ad);
      expect(toHex(fillNonce(new Uint8Array(12), iv, v.type, v.number))).toBe(v.nonce);
      const block = sealBlock(km, ad, new Uint8Array(12), v.type, v.number, fromHex(v.plaintext));
      expect(toHex(block)).toBe(v.block);
      expect(toHex(openBlock(km, ad, new Uint8Array(12), v.type, v.number, fromHex(v.block))!)).toBe(v.plaintext);
      // the other direction's AD does not open it
      expect(openBlock(km, new AdTemplate(fromHex(v.adContext), v.direction === 0 ? 1 : 0), new Uint8Array(12), v.type, v.number, block)).toBeNull();
    });
  }
});

describe('block vectors: engine exchange', () => {
  for (const provider of PROVIDERS) {
    it.each(V.engine)(`${provider.name} provider: $name`, (v) => {
      let t = 1000;
      const got: { channel: number; data: string; closeChannel: boolean }[] = [];
      const mk = (direction: 0 | 1) =>
        new BlockEngine({
          provider,
          aead: v.aead,
          sendSecret: fromHex(direction === 0 ? v.initiatorSendSecret : v.responderSendSecret),
          recvSecret: fromHex(direction === 0 ? v.responderSendSecret : v.initiatorSendSecret),
          adContext: fromHex(v.adContext),
          direction,
          now: () => t,
          onMessage: (channel, data, closeChannel) => got.push({ channel, data: toHex(data), closeChannel }),
          onWritable: () => {},
          onClose: () => {},
        });
      const a = mk(0);
      const b = mk(1);
      for (const m of v.messages) expect(a.send(m.channel, fromHex(m.data), m.closeChannel)).toBe(true);
      const aBlocks = a.poll();
      expect(aBlocks.map(toHex)).toEqual(v.initiatorBlocks);
      for (const x of aBlocks) b.receive(x);
      expect(got).toEqual(v.messages);
      t += v.ackDelayMs;
      const bBlocks = b.poll();
      expect(bBlocks.map(toHex)).toEqual(v.responderBlocks);
      for (const x of bBlocks) a.receive(x);
      expect(a.inspect().inFlightBlocks).toBe(0);
      expect(a.stats.rttMs).toBe(0); // 5 ms round trip, all of it the reported ack delay
    });
  }
});
