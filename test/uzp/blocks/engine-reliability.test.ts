// BlockEngine behaviour: retransmission and RTT, replay and tampering, authenticated peer
// misbehaviour, key update and key-use limits.
import { describe, it, expect } from 'vitest';
import { CloseCode } from '../../../src/uzp/blocks/constants.js';
import { ErrorCode } from '../../../src/uzp/errors.js';
import { nodeProvider } from '../../../src/uzp/crypto/node.js';
import { AdTemplate, deriveKeyMaterial, joinBlock, sealBlock } from '../../../src/uzp/blocks/protect.js';
import { encodeAck as encodeAckFrame } from '../../../src/uzp/blocks/ack.js';
import { AD_CONTEXT, Pair, SECRET_R2I, bytes } from './harness.js';
import { StateError } from '../../../src/lib/errors.js';
describe('BlockEngine: retransmission', () => {
  it("gives a block's ciphertext back once it is acknowledged, unless it was retransmitted (bytes.ts freeNow)", () => {
    const p = new Pair({ limits: { maxBlockPlaintext: 8192, initialRtoMs: 300 } });
    // Sent once and acknowledged: its ciphertext's memory is freed at the ack.
    p.a.engine.send(1, bytes(6000, 1));
    const [once] = p.a.engine.pollPieces();
    const ct = once![1]!;
    expect(ct.byteLength).toBeGreaterThan(6000);
    p.b.engine.receive(joinBlock(once!));
    expect(p.run(() => p.a.engine.inspect().inFlightBlocks === 0)).toBe(true);
    expect(p.b.delivered.map((d) => d.data)).toEqual([bytes(6000, 1)]);
    expect(ct.byteLength).toBe(0);
    // Lost, then retransmitted as the same pieces: a socket may still hold them, so they are kept.
    p.a.engine.send(1, bytes(6000, 2));
    const [lost] = p.a.engine.pollPieces();
    p.clock.t += 300;
    const [again] = p.a.engine.pollPieces();
    expect(again![1]).toBe(lost![1]);
    p.b.engine.receive(joinBlock(again!));
    expect(p.run(() => p.a.engine.inspect().inFlightBlocks === 0)).toBe(true);
    expect(p.b.delivered.map((d) => d.data)).toEqual([bytes(6000, 1), bytes(6000, 2)]);
    expect(lost![1]!.byteLength).toBeGreaterThan(6000);
    expect(p.a.engine.stats.retransmits).toBe(1);
  });

  it('RTO doubles on each expiry (from initialRtoMs) up to maxRtoMs, then fails with LINK_TIMEOUT after maxRetransmits', () => {
    const p = new Pair({ limitsA: { initialRtoMs: 300, maxRtoMs: 2000, maxRetransmits: 6 } });
    p.tap = (from) => from !== p.a; // everything A sends is lost
    p.a.engine.send(1, bytes(3, 3));
    const sends: number[] = [];
    const tap = p.tap;
    p.tap = (from, b) => {
      if (from === p.a) sends.push(p.clock.t);
      return tap(from, b);
    };
    p.run(() => p.a.closes.length > 0);
    const gaps = sends.slice(1).map((t, i) => t - sends[i]!);
    expect(gaps.slice(0, 6)).toEqual([300, 600, 1200, 2000, 2000, 2000]);
    expect(p.a.engine.stats.retransmits).toBe(6);
    expect(p.a.closes[0]!.error?.code).toBe(ErrorCode.LINK_TIMEOUT);
    expect(p.a.engine.inspect().state).toBe('closed');
    expect(p.a.engine.nextDeadline()).toBeUndefined();
  });

  it('samples RTT only from never-retransmitted blocks (Karn) and adapts the RTO (RFC 6298)', () => {
    const p = new Pair();
    p.conditions = { ab: { loss: 0, dup: 0, delayMs: 40, jitterMs: 0 }, ba: { loss: 0, dup: 0, delayMs: 40, jitterMs: 0 } };
    p.a.engine.send(1, bytes(3, 3));
    p.run(() => p.a.engine.stats.rttMs !== undefined);
    // 80 ms round trip; the peer's 5 ms ack delay is reported and subtracted
    expect(p.a.engine.stats.rttMs).toBe(80);
    // RTO = SRTT + 4 * RTTVAR + peer ack delay = 80 + 160 + 5
    expect(p.a.engine.inspect().rtoMs).toBe(245);

    // now lose the first transmission of the next block: its late ack must not produce a sample
    const q = new Pair();
    let first = true;
    q.tap = (from, b) => {
      if (from === q.a && (b[0]! & 0x02) === 0 && first) {
        first = false;
        return false;
      }
      return true;
    };
    q.a.engine.send(1, bytes(3, 3));
    q.run(() => q.b.delivered.length === 1 && q.a.engine.inspect().inFlightBlocks === 0);
    expect(q.a.engine.stats.retransmits).toBe(1);
    expect(q.a.engine.stats.rttMs).toBeUndefined();
  });

  it('retransmits a block lost below three acknowledged ones without waiting for the RTO', () => {
    const p = new Pair({ limits: { maxBlockPlaintext: 100, initialRtoMs: 5000, minRtoMs: 5000, maxRtoMs: 10_000 } });
    let dropped = false;
    p.tap = (from, b) => {
      if (from === p.a && !dropped && (b[0]! & 0x02) === 0) {
        dropped = true;
        return false;
      }
      return true;
    };
    for (let i = 0; i < 6; i++) p.a.engine.send(1, bytes(90, i));
    expect(p.run(() => p.b.delivered.length === 6)).toBe(true);
    expect(p.clock.t).toBeLessThan(5000);
    expect(p.a.engine.stats.retransmits).toBe(1);
  });

  it('retransmitAll() resends every unacknowledged block at once (after a re-stitch)', () => {
    const p = new Pair({ limits: { maxBlockPlaintext: 100 } });
    for (let i = 0; i < 5; i++) p.a.engine.send(1, bytes(90, i));
    expect(p.a.engine.poll()).toHaveLength(5); // all lost in the dying RN
    p.clock.t += 1;
    expect(p.a.engine.poll()).toHaveLength(0);
    p.a.engine.retransmitAll();
    const again = p.a.engine.poll();
    expect(again).toHaveLength(5);
    for (const b of again) p.b.engine.receive(b);
    expect(p.b.delivered).toHaveLength(5);
    expect(p.a.engine.stats.retransmits).toBe(5);
  });
});

describe('BlockEngine: replay and tampering', () => {
  it('drops a replayed data block without re-delivery but schedules an ack', () => {
    const p = new Pair();
    p.a.engine.send(1, bytes(8, 1));
    const [blk] = p.a.engine.poll();
    p.b.engine.receive(blk!);
    expect(p.b.engine.poll()).toHaveLength(0); // ack delayed
    p.clock.t += 5;
    expect(p.b.engine.poll()).toHaveLength(1);
    expect(p.b.engine.nextDeadline()).toBeUndefined();
    p.b.engine.receive(blk!);
    expect(p.b.delivered).toHaveLength(1);
    expect(p.b.drops).toEqual(['duplicate']);
    expect(p.b.engine.nextDeadline()).toBe(10);
    p.clock.t = 10;
    expect(p.b.engine.poll()).toHaveLength(1);
  });

  it('drops a replayed ack block', () => {
    const p = new Pair();
    p.a.engine.send(1, bytes(8, 1));
    p.b.engine.receive(p.a.engine.poll()[0]!);
    p.clock.t += 5;
    const [ack] = p.b.engine.poll();
    p.a.engine.receive(ack!);
    p.a.engine.receive(ack!);
    expect(p.a.drops).toEqual(['duplicate']);
    expect(p.a.engine.stats.blocksReceived).toBe(1);
  });

  it('a flipped bit anywhere in a block drops it; the original still delivers', () => {
    const p = new Pair();
    p.a.engine.send(1, bytes(30, 1));
    const [blk] = p.a.engine.poll();
    for (let i = 0; i < blk!.length * 8; i++) {
      const m = blk!.slice();
      m[i >> 3] = m[i >> 3]! ^ (1 << (i & 7));
      p.b.engine.receive(m);
    }
    expect(p.b.delivered).toHaveLength(0);
    expect(p.b.engine.stats.dropped).toBe(blk!.length * 8);
    expect(p.b.engine.stats.blocksReceived).toBe(0);
    p.b.engine.receive(blk!);
    expect(p.b.delivered).toHaveLength(1);
  });

  it('a forged block far ahead does not move the replay window (updated only after authentication)', () => {
    const p = new Pair();
    p.a.engine.send(1, bytes(3, 3));
    p.a.engine.poll();
    const ack = encodeAckFrame({ largest: 0, ackDelayUs: 0, ranges: [{ first: 0, last: 0 }] });
    const forged = sealAsB(0x12, 1_000_000, ack);
    forged[forged.length - 1] = forged[forged.length - 1]! ^ 0x80;
    p.a.engine.receive(forged);
    p.a.engine.receive(sealAsB(0x12, 0, ack)); // would be 'too old' had the forgery moved the window
    expect(p.a.drops).toEqual(['authentication']);
    expect(p.a.engine.inspect().inFlightBlocks).toBe(0);
  });

  it('closes with BLOCK_INTEGRITY_LIMIT after integrityLimit failed opens', () => {
    const p = new Pair({ limitsB: { integrityLimit: 10 } });
    p.a.engine.send(1, bytes(30, 1));
    const [blk] = p.a.engine.poll();
    for (let i = 0; i < 9; i++) {
      const m = blk!.slice();
      m[20] = m[20]! ^ (i + 1);
      p.b.engine.receive(m);
    }
    expect(p.b.closes).toHaveLength(0);
    const m = blk!.slice();
    m[blk!.length - 1] = m[blk!.length - 1]! ^ 1;
    p.b.engine.receive(m);
    expect(p.b.closes[0]!.error?.code).toBe(ErrorCode.BLOCK_INTEGRITY_LIMIT);
  });

  it('a block for another direction or a swapped space does not authenticate', () => {
    const p = new Pair();
    p.a.engine.send(1, bytes(30, 1));
    const [blk] = p.a.engine.poll();
    p.a.engine.receive(blk!); // reflected back to its sender
    const asAck = blk!.slice();
    asAck[0] = asAck[0]! | 0x02;
    p.b.engine.receive(asAck);
    expect(p.a.drops).toEqual(['authentication']);
    expect(p.b.drops).toEqual(['authentication']);
  });
});

/** Seals a block as B (direction 1, generation 0) would: lets a test forge authenticated peer misbehaviour. */
function sealAsB(type: number, number: number, pt: Uint8Array): Uint8Array {
  const km = deriveKeyMaterial(nodeProvider, 'chacha20-poly1305', SECRET_R2I, 0);
  return joinBlock(sealBlock(km, new AdTemplate(AD_CONTEXT, 1), new Uint8Array(12), type, number, pt));
}

describe('BlockEngine: authenticated misbehaviour', () => {
  it('an authenticated data block with an unknown frame type is dropped, counted, and closes with BLOCK_PROTOCOL', () => {
    const p = new Pair();
    p.a.engine.receive(sealAsB(0x10, 0, Uint8Array.of(0x01, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0x41, 0x7f)));
    expect(p.a.delivered).toEqual([]); // not even the MSG before the bad frame
    expect(p.a.drops).toEqual(['protocol']);
    expect(p.a.engine.stats.dropped).toBe(1);
    expect(p.a.closes[0]!.error?.code).toBe(ErrorCode.BLOCK_PROTOCOL);
    expect(p.a.closes[0]!.error?.fault).toBe('peer');
    // A tells B, generically, once
    const out = p.a.engine.poll();
    expect(out).toHaveLength(1);
    p.b.engine.receive(out[0]!);
    expect(p.b.closes).toEqual([{ error: undefined, remoteCode: CloseCode.PROTOCOL_VIOLATION, remoteReason: '' }]);
    expect(p.a.engine.poll()).toEqual([]);
  });

  it('an ACK for a block never sent closes with BLOCK_PROTOCOL', () => {
    const p = new Pair();
    p.a.engine.send(1, bytes(3, 3));
    p.a.engine.poll(); // block 0 in flight
    p.a.engine.receive(sealAsB(0x12, 0, encodeAckFrame({ largest: 1, ackDelayUs: 0, ranges: [{ first: 0, last: 1 }] })));
    expect(p.a.closes[0]!.error?.code).toBe(ErrorCode.BLOCK_PROTOCOL);
  });

  it('ack blocks older than the replay window are dropped, newer ones in the window are accepted once', () => {
    const p = new Pair();
    p.a.engine.send(1, bytes(3, 3));
    p.a.engine.poll();
    const ack = encodeAckFrame({ largest: 0, ackDelayUs: 0, ranges: [{ first: 0, last: 0 }] });
    p.a.engine.receive(sealAsB(0x12, 10_000, ack));
    p.a.engine.receive(sealAsB(0x12, 10_000 - 8160, ack));
    p.a.engine.receive(sealAsB(0x12, 10_000 - 8159, ack));
    p.a.engine.receive(sealAsB(0x12, 10_000 - 8159, ack));
    expect(p.a.drops).toEqual(['too old', 'duplicate']);
    expect(p.a.engine.stats.blocksReceived).toBe(2);
    expect(p.a.closes).toEqual([]);
  });

  it('data blocks from the peer still deliver while we are closing (half close)', () => {
    const p = new Pair();
    p.a.engine.close(0);
    p.b.engine.send(4, bytes(9, 9));
    p.run(() => p.a.delivered.length > 0);
    expect(p.a.delivered).toHaveLength(1);
  });
});

describe('BlockEngine: key update', () => {
  it('updates at the soft limit, flips the phase bit, and both sides agree while data keeps flowing', () => {
    // a small window paces the sender by acks, so each new key gets confirmed and the next update can follow
    const p = new Pair({ limits: { keySoftLimit: 16, keyHardLimit: 64, maxBlockPlaintext: 64, sendWindowBlocks: 4 } });
    const n = 400;
    for (let i = 0; i < n; i++) p.a.backlog.push({ channel: i % 4, data: bytes(50, i), closeChannel: false });
    for (let i = 0; i < n / 2; i++) p.b.backlog.push({ channel: 7, data: bytes(20, i), closeChannel: false });
    const phases = new Set<number>();
    p.tap = (from, b) => {
      if (from === p.a) phases.add(b[0]! & 1);
      return true;
    };
    expect(p.run(() => p.b.delivered.length === n && p.a.delivered.length === n / 2)).toBe(true);
    expect(p.b.delivered.map((d) => d.data)).toEqual(Array.from({ length: n }, (_, i) => bytes(50, i)));
    expect(phases).toEqual(new Set([0, 1]));
    const ia = p.a.engine.inspect();
    const ib = p.b.engine.inspect();
    expect(p.a.engine.stats.keyUpdates).toBeGreaterThan(5);
    expect(ib.recvGeneration).toBe(ia.sendGeneration);
    expect(ia.recvGeneration).toBe(ib.sendGeneration);
    expect(p.b.engine.stats.keyUpdates).toBeGreaterThan(0);
    expect(p.a.closes).toEqual([]); // never near the hard limit
    expect(p.b.closes).toEqual([]);
  });

  it('updateKey() forces an update; late blocks under the previous key still open', () => {
    const p = new Pair({ limits: { maxBlockPlaintext: 64 } });
    p.a.engine.send(1, bytes(50, 1));
    const old = p.a.engine.poll();
    p.a.engine.updateKey();
    p.a.engine.send(1, bytes(50, 2));
    const fresh = p.a.engine.poll();
    expect(fresh[0]![0]! & 1).toBe(1);
    for (const b of fresh) p.b.engine.receive(b);
    for (const b of old) p.b.engine.receive(b); // the previous phase, arriving late
    expect(p.b.delivered.map((d) => d.data)).toEqual([bytes(50, 1), bytes(50, 2)]);
    expect(p.b.engine.inspect().recvGeneration).toBe(1);
  });

  it('waits for the peer to confirm a key before the next update, and reseals old retransmissions', () => {
    const p = new Pair({ limits: { keySoftLimit: 16, maxBlockPlaintext: 64, sendWindowBlocks: 64 } });
    for (let i = 0; i < 40; i++) p.a.engine.send(1, bytes(50, i));
    const first = p.a.engine.poll(); // nothing acked yet: one update at most
    expect(first).toHaveLength(40);
    expect(p.a.engine.inspect()).toMatchObject({ sendGeneration: 1, sealedUnderKey: 24 });
    expect(first.map((b) => b[0]! & 1)).toEqual([...Array(16).fill(0), ...Array(24).fill(1)]);
    // everything lost; the retransmissions after the RTO get through
    expect(p.run(() => p.b.delivered.length === 40)).toBe(true);
    expect(p.b.delivered.map((d) => d.data)).toEqual(Array.from({ length: 40 }, (_, i) => bytes(50, i)));
    p.run(() => p.a.engine.inspect().inFlightBlocks === 0);
    expect(p.a.engine.inspect().retainedSendKeys).toBe(0);
  });

  it('an ack of a block first sealed under an older key does not confirm the new key (numbers are reused)', () => {
    const p = new Pair({ limits: { maxBlockPlaintext: 64 } });
    p.a.engine.send(1, bytes(10, 0));
    const [b0] = p.a.engine.poll(); // generation 0
    p.b.engine.receive(b0!);
    p.a.engine.updateKey();
    p.a.engine.send(1, bytes(10, 1));
    const [b1] = p.a.engine.poll(); // update to generation 1; b1 is lost
    expect(b1![0]! & 1).toBe(1);
    p.clock.t += 500;
    const retx = p.a.engine.poll(); // both retransmitted; b0 resealed under generation 1
    expect(retx.map((b) => b[0]! & 1)).toEqual([1, 1]);
    const ackOfOld = p.b.engine.poll(); // B acks its copy of b0 (it never saw generation 1)
    expect(ackOfOld).toHaveLength(1);
    p.a.engine.receive(ackOfOld[0]!);
    p.a.engine.updateKey(); // must wait for a real confirmation
    p.a.engine.send(1, bytes(10, 2));
    const [b2] = p.a.engine.poll();
    // still generation 1: a second update now would leave B two phases behind, unable to open anything
    expect(p.a.engine.inspect().sendGeneration).toBe(1);
    expect(b2![0]! & 1).toBe(1);
    p.b.engine.receive(b2!);
    for (const b of retx) p.b.engine.receive(b);
    expect(p.b.delivered.map((d) => d.data)).toEqual([bytes(10, 0), bytes(10, 1), bytes(10, 2)]);
  });

  it('closes with SESSION_KEY_LIMIT at the hard limit when no update can be confirmed', () => {
    const p = new Pair({ limitsA: { keySoftLimit: 16, keyHardLimit: 24, maxBlockPlaintext: 64, sendWindowBlocks: 64 } });
    p.tap = (from) => from !== p.b; // B's acks never arrive: A can update once, never confirm
    for (let i = 0; i < 60; i++) p.a.engine.send(1, bytes(50, i));
    expect(p.a.engine.poll()).toHaveLength(16 + 24); // nothing is sealed past the hard limit
    expect(p.a.closes[0]!.error?.code).toBe(ErrorCode.SESSION_KEY_LIMIT);
    expect(p.a.engine.stats.keyUpdates).toBe(1);
    expect(p.a.engine.inspect().state).toBe('closed');
    expect(() => p.a.engine.send(1, bytes(1, 1))).toThrow(StateError);
  });
});
