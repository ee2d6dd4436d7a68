// test/vectors/blocks.json: frames and acks (hand-written from the profile), blocks, an engine
// exchange and two closing exchanges (generated once). The block vectors are re-derived here a
// second way, straight from the profile text with node:crypto, so a bug in the block layer cannot
// vouch for itself. Field names are the profile's (test/vectors/field-names.json).

import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { decodeFrames, encodeFrames, type Frame } from '../../../src/uzp/blocks/frames.js';
import { decodeAck, encodeAck, type AckFrame } from '../../../src/uzp/blocks/ack.js';
import { AdTemplate, deriveKeyMaterial, fillNonce, openBlock, joinBlock, sealBlock } from '../../../src/uzp/blocks/protect.js';
import { BlockEngine } from '../../../src/uzp/blocks/engine.js';
import { CloseCode } from '../../../src/uzp/blocks/constants.js';
import { sealLoneClose } from '../../../src/uzp/blocks/lone-close.js';
import { ErrorCode } from '../../../src/uzp/errors.js';
import { nextTrafficSecret, trafficKey } from '../../../src/uzp/keyschedule.js';
import { PROVIDERS } from '../../../src/uzp/crypto/index.js';
import type { AeadAlgorithm } from '../../../src/uzp/crypto/provider.js';
import { fromHex, toHex, totalLength } from '../../../src/uzp/bytes.js';
import { DecodeError } from '../../../src/lib/errors.js';

interface JsonFrame {
  type: string;
  channel?: number;
  fin?: boolean;
  channel_close?: boolean;
  data?: string;
  code?: number;
  reason?: string;
  length?: number;
}
interface BlockVector {
  name: string;
  aead: AeadAlgorithm;
  base_secret: string;
  generation: number;
  secret: string;
  key: string;
  iv: string;
  ad_context: string;
  direction: 0 | 1;
  type: number;
  number: number;
  plaintext: string;
  nonce: string;
  ad: string;
  block: string;
}
interface JsonAck {
  largest: number;
  ack_delay_us: number;
  ranges: { first: number; last: number }[];
}
interface Exchange {
  name: string;
  aead: AeadAlgorithm;
  initiator_send_secret: string;
  responder_send_secret: string;
  ad_context: string;
  initiator_blocks: string[];
  responder_blocks: string[];
}
const V = JSON.parse(readFileSync(new URL('../../vectors/blocks.json', import.meta.url), 'utf8')) as {
  frames: { name: string; frames: JsonFrame[]; hex: string }[];
  bad_frames: { name: string; hex: string; code: string }[];
  acks: { name: string; ack: JsonAck; hex: string }[];
  bad_acks: { name: string; hex: string; code: string }[];
  blocks: BlockVector[];
  engine: (Exchange & { messages: { channel: number; data: string; channel_close: boolean }[]; ack_delay_ms: number })[];
  closing: (Exchange & { initiator_close?: { code: number; reason: string } })[];
};

const toAck = (a: JsonAck): AckFrame => ({ largest: a.largest, ackDelayUs: a.ack_delay_us, ranges: a.ranges });

function toFrame(f: JsonFrame): Frame {
  if (f.type === 'msg') return { type: 'msg', channel: f.channel!, fin: f.fin!, channelClose: f.channel_close!, data: fromHex(f.data!) };
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

  it.each(V.bad_frames)('rejects frames: $name', (v) => {
    expect(() => decodeFrames(fromHex(v.hex))).toThrow(DecodeError);
    expect(() => decodeFrames(fromHex(v.hex))).toThrow(expect.objectContaining({ code: v.code }));
  });

  it.each(V.acks)('ack: $name', (v) => {
    expect(toHex(encodeAck(toAck(v.ack)))).toBe(v.hex);
    expect(decodeAck(fromHex(v.hex))).toEqual(toAck(v.ack));
  });

  it.each(V.bad_acks)('rejects ack: $name', (v) => {
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
  let secret: Buffer = Buffer.from(v.base_secret, 'hex');
  for (let g = 0; g < v.generation; g++) secret = expandLabel(secret, 'traffic upd', 32);
  const key = expandLabel(secret, 'key', 32);
  const iv = expandLabel(secret, 'iv', 12);
  const number = Buffer.alloc(8);
  number.writeBigUInt64BE(BigInt(v.number));
  const space = (v.type >> 1) & 1;
  const mask = Buffer.concat([Buffer.from([0, 0, 0, space]), number]);
  const nonce = Buffer.from(iv.map((b, i) => b ^ mask[i]!));
  const label = Buffer.from(space === 0 ? 'uzp-application' : 'uzp-ack');
  const ad = Buffer.concat([Buffer.from([label.length]), label, Buffer.from(v.ad_context, 'hex'), Buffer.from([v.direction, v.type]), number]);
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
      let secret = fromHex(v.base_secret);
      for (let g = 0; g < v.generation; g++) secret = nextTrafficSecret(provider, secret);
      expect(toHex(secret)).toBe(v.secret);
      const { key, iv } = trafficKey(provider, secret);
      expect([toHex(key), toHex(iv)]).toEqual([v.key, v.iv]);
      const km = deriveKeyMaterial(provider, v.aead, secret, v.generation);
      const ad = new AdTemplate(fromHex(v.ad_context), v.direction);
      expect(toHex(ad.for(v.type, v.number))).toBe(v.ad);
      expect(toHex(fillNonce(new Uint8Array(12), iv, v.type, v.number))).toBe(v.nonce);
      const pieces = sealBlock(km, ad, new Uint8Array(12), v.type, v.number, fromHex(v.plaintext));
      expect(toHex(pieces[0]!)).toBe(v.block.slice(0, 18)); // the 9-byte header is a piece of its own
      expect(totalLength(pieces)).toBe(v.block.length / 2);
      const block = joinBlock(pieces);
      expect(toHex(block)).toBe(v.block);
      expect(toHex(openBlock(km, ad, new Uint8Array(12), v.type, v.number, fromHex(v.block))!)).toBe(v.plaintext);
      // the other direction's AD does not open it
      expect(openBlock(km, new AdTemplate(fromHex(v.ad_context), v.direction === 0 ? 1 : 0), new Uint8Array(12), v.type, v.number, block)).toBeNull();
    });
  }
});

describe('block vectors: engine exchange', () => {
  for (const provider of PROVIDERS) {
    it.each(V.engine)(`${provider.name} provider: $name`, (v) => {
      let t = 1000;
      const got: { channel: number; data: string; channel_close: boolean }[] = [];
      const mk = (direction: 0 | 1) =>
        new BlockEngine({
          provider,
          aead: v.aead,
          sendSecret: fromHex(direction === 0 ? v.initiator_send_secret : v.responder_send_secret),
          recvSecret: fromHex(direction === 0 ? v.responder_send_secret : v.initiator_send_secret),
          adContext: fromHex(v.ad_context),
          direction,
          now: () => t,
          onMessage: (channel, data, channelClose) => got.push({ channel, data: toHex(data), channel_close: channelClose }),
          onWritable: () => {},
          onClose: () => {},
        });
      const a = mk(0);
      const b = mk(1);
      for (const m of v.messages) expect(a.send(m.channel, fromHex(m.data), m.channel_close)).toBe(true);
      const aBlocks = a.poll();
      expect(aBlocks.map(toHex)).toEqual(v.initiator_blocks);
      for (const x of aBlocks) b.receive(x);
      expect(got).toEqual(v.messages);
      t += v.ack_delay_ms;
      const bBlocks = b.poll();
      expect(bBlocks.map(toHex)).toEqual(v.responder_blocks);
      for (const x of bBlocks) a.receive(x);
      expect(a.inspect().inFlightBlocks).toBe(0);
      expect(a.stats.rttMs).toBe(0); // 5 ms round trip, all of it the reported ack delay
    });
  }
});

/** Opens a recorded block with the profile text alone (node:crypto), given the sender's generation-0 secret. */
function openIndependently(hexBlock: string, aead: AeadAlgorithm, secret: string, adContext: string, direction: 0 | 1): Buffer {
  const b = Buffer.from(hexBlock, 'hex');
  const key = expandLabel(Buffer.from(secret, 'hex'), 'key', 32);
  const iv = expandLabel(Buffer.from(secret, 'hex'), 'iv', 12);
  const type = b[0]!;
  const number = b.subarray(1, 9);
  const space = (type >> 1) & 1;
  const mask = Buffer.concat([Buffer.from([0, 0, 0, space]), number]);
  const nonce = Buffer.from(iv.map((x, i) => x ^ mask[i]!));
  const label = Buffer.from(space === 0 ? 'uzp-application' : 'uzp-ack');
  const ad = Buffer.concat([Buffer.from([label.length]), label, Buffer.from(adContext, 'hex'), Buffer.from([direction, type]), number]);
  const d = createDecipheriv(aead, key, nonce, { authTagLength: 16 } as never) as unknown as {
    setAAD(b: Buffer, o: object): void;
    setAuthTag(t: Buffer): void;
    update(b: Buffer): Buffer;
    final(): Buffer;
  };
  const ct = b.subarray(9, b.length - 16);
  d.setAAD(ad, { plaintextLength: ct.length });
  d.setAuthTag(b.subarray(b.length - 16));
  return Buffer.concat([d.update(ct), d.final()]);
}

describe('block vectors: closing (docs/PROFILE.md §Closing)', () => {
  const [graceful, bogus] = V.closing;

  it('graceful: A sends its CLOSE in data block 0; B answers with one ack block at once (no ack delay), acknowledging it', () => {
    const v = graceful!;
    const pa = openIndependently(v.initiator_blocks[0]!, v.aead, v.initiator_send_secret, v.ad_context, 0);
    expect(decodeFrames(pa)).toEqual([{ type: 'close', code: v.initiator_close!.code, reason: v.initiator_close!.reason }]);
    const pb = openIndependently(v.responder_blocks[0]!, v.aead, v.responder_send_secret, v.ad_context, 1);
    expect(v.responder_blocks[0]!.slice(0, 2)).toBe('12'); // an ack block
    expect(decodeAck(pb)).toEqual({ largest: 0, ackDelayUs: 0, ranges: [{ first: 0, last: 0 }] });
  });

  it('bogus ACK: B answers with CLOSE PROTOCOL_VIOLATION (0x0001, empty reason) in its data block 0', () => {
    const v = bogus!;
    expect(decodeAck(openIndependently(v.initiator_blocks[0]!, v.aead, v.initiator_send_secret, v.ad_context, 0))).toEqual({ largest: 5, ackDelayUs: 0, ranges: [{ first: 0, last: 5 }] });
    const pb = openIndependently(v.responder_blocks[0]!, v.aead, v.responder_send_secret, v.ad_context, 1);
    expect(pb.toString('hex')).toBe('0200010000');
  });

  for (const provider of PROVIDERS) {
    it.each(V.closing)(`${provider.name} provider: $name`, (v) => {
      const closes: { side: string; error?: string; code?: number; reason?: string }[] = [];
      const mk = (direction: 0 | 1) =>
        new BlockEngine({
          provider,
          aead: v.aead,
          sendSecret: fromHex(direction === 0 ? v.initiator_send_secret : v.responder_send_secret),
          recvSecret: fromHex(direction === 0 ? v.responder_send_secret : v.initiator_send_secret),
          adContext: fromHex(v.ad_context),
          direction,
          now: () => 1000,
          onMessage: () => {},
          onWritable: () => {},
          onClose: (e, code, reason) => closes.push({ side: direction === 0 ? 'A' : 'B', ...(e ? { error: e.code } : {}), ...(code !== undefined ? { code, reason } : {}) }),
        });
      const a = mk(0);
      const b = mk(1);
      if (v.initiator_close !== undefined) {
        a.close(v.initiator_close.code, v.initiator_close.reason);
        expect(a.poll().map(toHex)).toEqual(v.initiator_blocks);
      }
      for (const x of v.initiator_blocks) b.receive(fromHex(x));
      const bBlocks = b.poll(); // the same instant: nothing waits for ack_delay
      expect(bBlocks.map(toHex)).toEqual(v.responder_blocks);
      for (const x of bBlocks) a.receive(x);
      if (v.initiator_close !== undefined) {
        expect(closes).toEqual([{ side: 'B', code: v.initiator_close.code, reason: v.initiator_close.reason }, { side: 'A' }]);
      } else {
        expect(closes).toEqual([{ side: 'B', error: ErrorCode.BLOCK_PROTOCOL }, { side: 'A', code: CloseCode.PROTOCOL_VIOLATION, reason: '' }]);
        // The responder's CLOSE after a bad Finished is this same block: data block 0 under r_ap.
        expect(toHex(sealLoneClose(provider, { aead: v.aead, sendSecret: fromHex(v.responder_send_secret), adContext: fromHex(v.ad_context), direction: 1 }, CloseCode.PROTOCOL_VIOLATION))).toBe(v.responder_blocks[0]);
      }
    });
  }
});
