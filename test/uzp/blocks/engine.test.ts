// BlockEngine behaviour: delivery, coalescing, fragmentation, bounds, closing.
import { describe, it, expect } from 'vitest';
import { BlockEngine } from '../../../src/uzp/blocks/engine.js';
import { decodeFrames } from '../../../src/uzp/blocks/frames.js';
import { decodeAck } from '../../../src/uzp/blocks/ack.js';
import { CloseCode, SPACE_ACK } from '../../../src/uzp/blocks/constants.js';
import { ErrorCode } from '../../../src/uzp/errors.js';
import { nodeProvider } from '../../../src/uzp/crypto/node.js';
import { trafficKey } from '../../../src/uzp/keyschedule.js';
import { AdTemplate, fillNonce } from '../../../src/uzp/blocks/protect.js';
import { AD_CONTEXT, Pair, SECRET_I2R, SECRET_R2I, Side, SimTime, bytes, engineOptions } from './harness.js';
import { LocalError, StateError } from '../../../src/lib/errors.js';
/** Opens a block A sent (direction 0) with generation-0 keys, for white-box checks of the bytes. */
function openFromA(block: Uint8Array): Uint8Array {
  const { key, iv } = trafficKey(nodeProvider, SECRET_I2R);
  const aead = nodeProvider.aead('chacha20-poly1305', key);
  const ad = new AdTemplate(AD_CONTEXT, 0);
  const number = Number(new DataView(block.buffer, block.byteOffset + 1, 8).getBigUint64(0));
  const pt = aead.open(fillNonce(new Uint8Array(12), iv, block[0]!, number), block.subarray(9), ad.for(block[0]!, number));
  if (pt === null) throw new Error('does not open');
  return pt;
}

describe('BlockEngine: delivery', () => {
  it('delivers messages in order on a perfect link, both directions', () => {
    const p = new Pair();
    p.a.engine.send(1, bytes(10, 1));
    p.a.engine.send(2, bytes(0, 0));
    p.b.engine.send(3, bytes(5, 9), true);
    expect(p.run(() => p.a.delivered.length === 1 && p.b.delivered.length === 2)).toBe(true);
    expect(p.b.delivered.map((d) => [d.channel, d.data.length])).toEqual([
      [1, 10],
      [2, 0],
    ]);
    expect(p.b.delivered[0]!.data).toEqual(bytes(10, 1));
    expect(p.a.delivered[0]).toEqual({ channel: 3, data: bytes(5, 9), channelClosed: true });
    // everything acknowledged eventually, no timers left
    p.run(() => p.a.engine.inspect().inFlightBlocks === 0 && p.b.engine.inspect().inFlightBlocks === 0);
    expect(p.a.engine.inspect().inFlightBlocks).toBe(0);
    expect(p.a.engine.stats.retransmits + p.b.engine.stats.retransmits).toBe(0);
  });

  it('builds small blocks in a small scratch and grows it only as far as what waits (at least doubling, at most a block)', () => {
    const p = new Pair();
    const scratch = (): number => (p.a.engine as unknown as { sender: { scratch: Uint8Array } }).sender.scratch.length;
    p.a.engine.send(1, bytes(40, 1));
    expect(p.a.engine.poll()).toHaveLength(1);
    expect(scratch()).toBe(1024); // no 64 KiB of zeroed memory for a 50-byte block
    p.a.engine.send(1, bytes(3000, 2));
    for (let i = 0; i < 40; i++) p.a.engine.send(2, bytes(100, i));
    const blocks = p.a.engine.poll();
    expect(blocks).toHaveLength(1);
    expect(openFromA(blocks[0]!).length).toBe(3010 + 40 * 110);
    expect(scratch()).toBe(3010 + 40 * 110 + 1); // all that waits, and a PING's byte
    p.a.engine.send(1, bytes(7500, 4));
    expect(p.a.engine.poll()).toHaveLength(1);
    expect(scratch()).toBe(2 * (3010 + 40 * 110 + 1)); // at least double: few regrowths
    p.a.engine.send(1, bytes(200_000, 3)); // larger than a block: a full-size scratch, fragments
    expect(p.a.engine.poll().map((b) => openFromA(b).length).slice(0, 3)).toEqual([65536, 65536, 65536]);
    expect(scratch()).toBe(65536);
  });

  it('coalesces many small messages into as few blocks as fit maxBlockPlaintext', () => {
    const p = new Pair({ limits: { maxBlockPlaintext: 1000 } });
    // 100 messages of 40 bytes = 100 × (10 + 40) = 5000 plaintext bytes -> exactly 5 blocks of 1000
    for (let i = 0; i < 100; i++) expect(p.a.engine.send(i % 3, bytes(40, i))).toBe(true);
    const blocks = p.a.engine.poll();
    expect(blocks).toHaveLength(5);
    for (const b of blocks) expect(openFromA(b).length).toBe(1000);
    const frames = blocks.flatMap((b) => decodeFrames(openFromA(b)));
    expect(frames).toHaveLength(100);
    expect(frames.every((f) => f.type === 'msg' && f.fin)).toBe(true);
    for (const b of blocks) p.b.engine.receive(b);
    expect(p.b.delivered.map((d) => d.data)).toEqual(Array.from({ length: 100 }, (_, i) => bytes(40, i)));
    expect(p.b.delivered.map((d) => d.channel)).toEqual(Array.from({ length: 100 }, (_, i) => i % 3));
  });

  it('fragments a message larger than a block (FIN only on the last fragment) and reassembles it', () => {
    const p = new Pair({ limits: { maxBlockPlaintext: 1024 } });
    const big = bytes(5000, 7);
    p.a.engine.send(9, big, true);
    const blocks = p.a.engine.poll();
    const frames = blocks.flatMap((b) => decodeFrames(openFromA(b)));
    expect(frames.length).toBeGreaterThan(4);
    expect(frames.map((f) => f.type === 'msg' && f.fin)).toEqual([...Array(frames.length - 1).fill(false), true]);
    expect(frames.map((f) => f.type === 'msg' && f.channelClose)).toEqual([...Array(frames.length - 1).fill(false), true]);
    // deliver in reverse order: nothing until the first arrives, then the whole message once
    for (const b of [...blocks].reverse()) p.b.engine.receive(b);
    expect(p.b.delivered).toEqual([{ channel: 9, data: big, channelClosed: true }]);
  });

  it('keeps order when onMessage re-enters receive() with the next block', () => {
    const p = new Pair({ limits: { maxBlockPlaintext: 64 } });
    for (let i = 0; i < 4; i++) p.a.engine.send(1, bytes(20, i)); // two messages per block
    const blocks = p.a.engine.poll();
    expect(blocks).toHaveLength(2);
    const order: number[] = [];
    const b = new BlockEngine({
      ...engineOptions(p.b, p.clock, 1, 'chacha20-poly1305', { maxBlockPlaintext: 64 }),
      onMessage: (_c, data) => {
        order.push(data[0]!);
        if (order.length === 1) b.receive(blocks[1]!);
      },
    });
    b.receive(blocks[0]!);
    expect(order).toEqual([0, 1, 2, 3].map((i) => bytes(20, i)[0]!));
  });

  it('does not start a tiny fragment in the tail of a block', () => {
    const p = new Pair({ limits: { maxBlockPlaintext: 2000 } });
    p.a.engine.send(1, bytes(1700, 1)); // 1710 used, 290 left < 512 + 10
    p.a.engine.send(2, bytes(3000, 2));
    const frames = p.a.engine.poll().map((b) => decodeFrames(openFromA(b)));
    expect(frames[0]).toHaveLength(1);
    expect(frames[1]![0]).toMatchObject({ type: 'msg', channel: 2, fin: false });
  });

  it('does not split a message the next block holds whole once the current block is half full', () => {
    const p = new Pair({ limits: { maxBlockPlaintext: 4000 } });
    for (let i = 0; i < 3; i++) p.a.engine.send(1, bytes(2100, i)); // 2110 each: one per block, none split
    const blocks = p.a.engine.poll();
    expect(blocks.map((b) => decodeFrames(openFromA(b)))).toEqual([0, 1, 2].map((i) => [{ type: 'msg', channel: 1, fin: true, channelClose: false, data: bytes(2100, i) }]));
    for (const b of blocks) p.b.engine.receive(b);
    expect(p.b.delivered.map((d) => d.data)).toEqual([0, 1, 2].map((i) => bytes(2100, i)));
  });

  it('still fills a block less than half full with a fragment of the next message', () => {
    const p = new Pair({ limits: { maxBlockPlaintext: 4000 } });
    p.a.engine.send(1, bytes(1500, 1)); // 1510 used: under half, 2480 of the next message follow
    p.a.engine.send(2, bytes(3000, 2));
    const frames = p.a.engine.poll().map((b) => decodeFrames(openFromA(b)));
    expect(frames[0]!.map((f) => (f.type === 'msg' ? [f.channel, f.fin, f.data.length] : f.type))).toEqual([
      [1, true, 1500],
      [2, false, 2480],
    ]);
    expect(frames[1]!.map((f) => (f.type === 'msg' ? [f.channel, f.fin, f.data.length] : f.type))).toEqual([[2, true, 520]]);
  });

  it('a message above maxMessageBytes being reassembled is a protocol error that closes the receiver', () => {
    const p = new Pair({ limitsA: { maxBlockPlaintext: 1024, maxMessageBytes: 8192 }, limitsB: { maxBlockPlaintext: 1024, maxMessageBytes: 4096 } });
    p.a.engine.send(1, bytes(100, 1));
    p.a.engine.send(1, bytes(6000, 2));
    p.run(() => p.b.closes.length > 0 && p.a.closes.length > 0);
    expect(p.b.delivered).toHaveLength(1); // the first message; never a truncated second one
    expect(p.b.closes[0]!.error?.code).toBe(ErrorCode.BLOCK_PROTOCOL);
    expect(p.b.engine.inspect().reassemblyBytes).toBe(0);
    // the sender is told with the generic code only
    expect(p.a.closes[0]).toEqual({ error: undefined, remoteCode: CloseCode.PROTOCOL_VIOLATION, remoteReason: '' });
  });

  it('refuses a message over maxMessageBytes at send() with a typed error', () => {
    const p = new Pair({ limits: { maxMessageBytes: 100 } });
    expect(() => p.a.engine.send(1, bytes(101, 0))).toThrow(StateError);
    expect(() => p.a.engine.send(-1, bytes(1, 0))).toThrow(expect.objectContaining({ code: ErrorCode.CHANNEL_UNKNOWN }));
    expect(() => p.a.engine.send(2 ** 32, bytes(1, 0))).toThrow(StateError);
  });

  it('rejects inconsistent limits with a LocalError', () => {
    const clock = new SimTime();
    const s = new Side();
    expect(() => new BlockEngine(engineOptions(s, clock, 0, 'aes-256-gcm', { maxMessageBytes: 10, sendBufferBytes: 5 }))).toThrow(LocalError);
    expect(() => new BlockEngine(engineOptions(s, clock, 0, 'aes-256-gcm', { maxBlockPlaintext: 10 }))).toThrow(LocalError);
    expect(() => new BlockEngine(engineOptions(s, clock, 0, 'aes-256-gcm', { sendWindowBlocks: 1.5 }))).toThrow(LocalError);
    expect(() => new BlockEngine(engineOptions(s, clock, 0, 'aes-256-gcm', { keySoftLimit: 15 }))).toThrow(LocalError);
    expect(() => new BlockEngine(engineOptions(s, clock, 0, 'aes-256-gcm', { keySoftLimit: 100, keyHardLimit: 100 }))).toThrow(LocalError);
  });
});

describe('BlockEngine: bounds', () => {
  it('send buffer: send() returns false when full, queues nothing, and onWritable fires once there is room', () => {
    const p = new Pair({ limits: { sendBufferBytes: 1000, maxMessageBytes: 500, maxBlockPlaintext: 600 } });
    expect(p.a.engine.send(1, bytes(500, 1))).toBe(true);
    expect(p.a.engine.send(1, bytes(500, 2))).toBe(true);
    expect(p.a.engine.send(1, bytes(1, 3))).toBe(false);
    expect(p.a.engine.inspect()).toMatchObject({ queuedBytes: 1000, queuedMessages: 2 });
    expect(p.a.writable).toBe(0);
    p.a.engine.poll();
    expect(p.a.writable).toBe(1);
    expect(p.a.engine.inspect().queuedBytes).toBe(0);
  });

  it('send buffer: empty messages are bounded too (sendBufferBytes / 32 of them), and onWritable follows', () => {
    const p = new Pair({ limits: { sendBufferBytes: 320, maxMessageBytes: 100 } });
    let n = 0;
    while (n <= 1000 && p.a.engine.send(1, new Uint8Array(0))) n++;
    expect(n).toBe(10); // without the count bound: every one of them queued, without end
    expect(p.a.engine.send(2, new Uint8Array(0))).toBe(false);
    expect(p.a.engine.inspect()).toMatchObject({ queuedBytes: 0, queuedMessages: 10 });
    expect(p.a.writable).toBe(0);
    p.a.engine.poll();
    expect(p.a.writable).toBe(1);
    expect(p.a.engine.send(2, new Uint8Array(0))).toBe(true);
    expect(p.run(() => p.b.delivered.length === 11)).toBe(true);
  });

  it('send window: never more than sendWindowBlocks in flight; the rest waits in the queue', () => {
    const p = new Pair({ limits: { sendWindowBlocks: 4, maxBlockPlaintext: 100 } });
    for (let i = 0; i < 20; i++) p.a.engine.send(1, bytes(90, i));
    expect(p.a.engine.poll()).toHaveLength(4);
    expect(p.a.engine.poll()).toHaveLength(0);
    expect(p.a.engine.inspect()).toMatchObject({ inFlightBlocks: 4, inFlightSpan: 4, queuedMessages: 16 });
    let maxSpan = 0;
    p.tap = () => {
      maxSpan = Math.max(maxSpan, p.a.engine.inspect().inFlightSpan);
      return true;
    };
    expect(p.run(() => p.b.delivered.length === 20)).toBe(true);
    expect(maxSpan).toBeLessThanOrEqual(4);
  });

  it('receive buffer: blocks beyond nextExpected + recvBufferBlocks are dropped before decryption, not buffered', () => {
    const p = new Pair({ limitsA: { sendWindowBlocks: 64, maxBlockPlaintext: 100 }, limitsB: { recvBufferBlocks: 8 } });
    for (let i = 0; i < 40; i++) p.a.engine.send(1, bytes(90, i));
    const blocks = p.a.engine.poll();
    expect(blocks).toHaveLength(40);
    for (const b of blocks.slice(1)) p.b.engine.receive(b); // block 0 lost
    expect(p.b.engine.inspect().recvBufferedBlocks).toBe(7); // numbers 1..7 fit (0..7 is the buffer)
    expect(p.b.drops.filter((d) => d === 'beyond receive buffer')).toHaveLength(32);
    expect(p.b.delivered).toHaveLength(0);
    p.b.engine.receive(blocks[0]!);
    expect(p.b.delivered).toHaveLength(8);
    // the dropped ones come back by retransmission and everything is delivered exactly once
    expect(p.run(() => p.b.delivered.length === 40)).toBe(true);
    expect(p.b.delivered.map((d) => d.data)).toEqual(Array.from({ length: 40 }, (_, i) => bytes(90, i)));
  });

  it('ack frames carry at most 64 ranges and always the delivered prefix', () => {
    const p = new Pair({ limitsA: { sendWindowBlocks: 400, maxBlockPlaintext: 20 }, limitsB: { recvBufferBlocks: 400, ackEveryBlocks: 1000 } });
    for (let i = 0; i < 300; i++) p.a.engine.send(1, bytes(5, i));
    const blocks = p.a.engine.poll();
    expect(blocks).toHaveLength(300);
    // deliver 0..4, then every other block from 10: 5..9 missing, then 145 gaps
    for (const b of blocks.slice(0, 5)) p.b.engine.receive(b);
    for (let i = 10; i < 300; i += 2) p.b.engine.receive(blocks[i]!);
    const out = p.b.engine.poll();
    expect(out).toHaveLength(1);
    const ack = out[0]!;
    expect(ack[0]! & 0x02).toBe(SPACE_ACK << 1);
    // open the ack with B's key (direction 1)
    const { key, iv } = trafficKey(nodeProvider, SECRET_R2I);
    const aead = nodeProvider.aead('chacha20-poly1305', key);
    const pt = aead.open(fillNonce(new Uint8Array(12), iv, ack[0]!, 0), ack.subarray(9), new AdTemplate(AD_CONTEXT, 1).for(ack[0]!, 0))!;
    const frame = decodeAck(pt);
    expect(frame.ranges).toHaveLength(64);
    expect(frame.largest).toBe(298);
    expect(frame.ranges[0]).toEqual({ first: 298, last: 298 });
    expect(frame.ranges[63]).toEqual({ first: 0, last: 4 });
    // feeding it to A acknowledges exactly the blocks B has
    p.a.engine.receive(ack);
    expect(p.a.engine.inspect().inFlightBlocks).toBe(300 - 5 - 63);
  });
});

describe('BlockEngine: closing', () => {
  it('send() throws SESSION_CLOSED after close(); close is graceful and reports completion once', () => {
    const p = new Pair();
    p.a.engine.send(1, bytes(10, 1));
    p.a.engine.close(0x1234, 'bye');
    expect(() => p.a.engine.send(1, bytes(1, 1))).toThrow(expect.objectContaining({ code: ErrorCode.SESSION_CLOSED }));
    expect(p.run(() => p.a.closes.length > 0 && p.b.closes.length > 0)).toBe(true);
    expect(p.b.delivered).toHaveLength(1);
    expect(p.b.closes).toEqual([{ error: undefined, remoteCode: 0x1234, remoteReason: 'bye' }]);
    expect(p.a.closes).toEqual([{ error: undefined, remoteCode: undefined, remoteReason: undefined }]);
    expect(p.a.engine.inspect().state).toBe('closed');
    expect(() => p.b.engine.send(1, bytes(1, 1))).toThrow(StateError);
    p.run(() => false, 1000);
    expect(p.a.closes).toHaveLength(1);
    expect(p.b.closes).toHaveLength(1);
  });

  it('the closed side re-acknowledges a retransmitted CLOSE whose ack was lost', () => {
    const p = new Pair();
    p.a.engine.close(0, 'done');
    let acksDropped = 0;
    p.tap = (from, b) => {
      if (from === p.b && (b[0]! & 0x02) !== 0 && acksDropped === 0) {
        acksDropped++;
        return false;
      }
      return true;
    };
    expect(p.run(() => p.a.closes.length > 0)).toBe(true);
    expect(acksDropped).toBe(1);
    expect(p.a.closes[0]!.error).toBeUndefined();
    expect(p.b.drops).toContain('duplicate');
  });

  it('truncates a long close reason on a UTF-8 boundary', () => {
    const p = new Pair();
    p.a.engine.close(1, 'é'.repeat(200));
    p.run(() => p.b.closes.length > 0);
    expect(p.b.closes[0]!.remoteReason).toBe('é'.repeat(128));
  });
});
