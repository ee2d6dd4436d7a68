// Two block engines wired back to back through an in-memory network with a fake clock.
// The network can lose, duplicate and reorder (random extra delay), driven by a seeded PRNG so a
// failing fast-check case replays exactly.

import { BlockEngine, type BlockEngineOptions } from '../../../src/uzp/blocks/engine.js';
import type { BlockLimits } from '../../../src/uzp/blocks/limits.js';
import type { AeadAlgorithm } from '../../../src/uzp/crypto/provider.js';
import { nodeProvider } from '../../../src/uzp/crypto/node.js';
import { type CodedError } from '../../../src/lib/errors.js';

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function bytes(n: number, fill: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (fill + i * 31) & 0xff;
  return b;
}

/**
 * Simulated time for the pair: the engine sets no timers (it reports nextDeadline()), so the
 * network simulation jumps `t` from event to event instead of running timers like the shared
 * test/helpers/fake-clock.ts does.
 */
export class SimTime {
  t = 0;
  readonly now = (): number => this.t;
}

export interface Delivered {
  channel: number;
  data: Uint8Array;
  channelClosed: boolean;
}

export interface CloseEvent {
  error: CodedError | undefined;
  remoteCode: number | undefined;
  remoteReason: string | undefined;
}

/** One engine plus everything it reported. */
export class Side {
  engine!: BlockEngine;
  readonly delivered: Delivered[] = [];
  readonly closes: CloseEvent[] = [];
  readonly drops: string[] = [];
  writable = 0;
  /** Messages the test wants sent; pumped into send() as the buffer allows. */
  readonly backlog: { channel: number; data: Uint8Array; closeChannel: boolean }[] = [];

  pumpBacklog(): void {
    while (this.backlog.length > 0 && this.closes.length === 0) {
      const m = this.backlog[0]!;
      if (!this.engine.send(m.channel, m.data, m.closeChannel)) return;
      this.backlog.shift();
    }
  }
}

export const SECRET_I2R = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
export const SECRET_R2I = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i);
export const AD_CONTEXT = Uint8Array.from({ length: 128 }, (_, i) => (i * 7 + 3) & 0xff);

export interface PairOptions {
  aead?: AeadAlgorithm;
  limits?: Partial<BlockLimits>;
  limitsA?: Partial<BlockLimits>;
  limitsB?: Partial<BlockLimits>;
}

export function engineOptions(side: Side, clock: SimTime, direction: 0 | 1, aead: AeadAlgorithm, limits: Partial<BlockLimits>): BlockEngineOptions {
  return {
    provider: nodeProvider,
    aead,
    sendSecret: direction === 0 ? SECRET_I2R : SECRET_R2I,
    recvSecret: direction === 0 ? SECRET_R2I : SECRET_I2R,
    adContext: AD_CONTEXT,
    direction,
    now: clock.now,
    limits,
    onMessage: (channel, data, channelClosed) => side.delivered.push({ channel, data: data.slice(), channelClosed }),
    onWritable: () => {
      side.writable++;
      side.pumpBacklog();
    },
    onClose: (error, remoteCode, remoteReason) => side.closes.push({ error, remoteCode, remoteReason }),
    onDrop: (reason) => side.drops.push(reason),
  };
}

export interface LinkConditions {
  loss: number;
  dup: number;
  /** Base one-way delay and uniform random extra delay (extra > 0 reorders). */
  delayMs: number;
  jitterMs: number;
}

export const PERFECT: LinkConditions = { loss: 0, dup: 0, delayMs: 10, jitterMs: 0 };

interface InTransit {
  at: number;
  seq: number;
  to: Side;
  block: Uint8Array;
}

/** The two engines and the network between them. */
export class Pair {
  readonly clock = new SimTime();
  readonly a = new Side();
  readonly b = new Side();
  conditions: { ab: LinkConditions; ba: LinkConditions } = { ab: PERFECT, ba: PERFECT };
  /** Optional tap on every block put on the wire: return false to drop it. */
  tap: ((from: Side, block: Uint8Array) => boolean) | undefined;
  private transit: InTransit[] = [];
  private seq = 0;
  readonly rand: () => number;
  /** Blocks put on the wire per direction (before loss). */
  readonly wire = { ab: [] as Uint8Array[], ba: [] as Uint8Array[] };

  constructor(o: PairOptions = {}, seed = 1) {
    const aead = o.aead ?? 'chacha20-poly1305';
    this.a.engine = new BlockEngine(engineOptions(this.a, this.clock, 0, aead, { ...o.limits, ...o.limitsA }));
    this.b.engine = new BlockEngine(engineOptions(this.b, this.clock, 1, aead, { ...o.limits, ...o.limitsB }));
    this.rand = mulberry32(seed);
  }

  private put(from: Side, block: Uint8Array): void {
    const ab = from === this.a;
    (ab ? this.wire.ab : this.wire.ba).push(block);
    if (this.tap !== undefined && !this.tap(from, block)) return;
    const c = ab ? this.conditions.ab : this.conditions.ba;
    const to = ab ? this.b : this.a;
    if (this.rand() < c.loss) return;
    const copies = this.rand() < c.dup ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.transit.push({ at: this.clock.t + c.delayMs + Math.floor(this.rand() * (c.jitterMs + 1)), seq: this.seq++, to, block });
    }
  }

  /** Polls both engines until nothing more happens at the current instant; returns blocks sent. */
  settle(): number {
    let sent = 0;
    for (let guard = 0; guard < 100_000; guard++) {
      this.a.pumpBacklog();
      this.b.pumpBacklog();
      let moved = 0;
      for (const s of [this.a, this.b]) {
        for (const blk of s.engine.poll()) {
          this.put(s, blk);
          moved++;
        }
      }
      sent += moved;
      const due = this.transit.filter((p) => p.at <= this.clock.t).sort((x, y) => x.at - y.at || x.seq - y.seq);
      if (due.length > 0) {
        this.transit = this.transit.filter((p) => p.at > this.clock.t);
        for (const p of due) p.to.engine.receive(p.block);
        moved += due.length;
      }
      if (moved === 0) return sent;
    }
    throw new Error('settle: no quiescence');
  }

  /** Earliest future event: a block arriving or an engine timer. */
  nextEvent(): number | undefined {
    let t: number | undefined;
    for (const p of this.transit) if (t === undefined || p.at < t) t = p.at;
    for (const s of [this.a, this.b]) {
      const d = s.engine.nextDeadline();
      if (d !== undefined && (t === undefined || d < t)) t = d;
    }
    return t;
  }

  /** Runs until `done()` or until nothing is left to happen; returns whether done() held. */
  run(done: () => boolean, maxSteps = 200_000): boolean {
    for (let i = 0; i < maxSteps; i++) {
      this.settle();
      if (done()) return true;
      const t = this.nextEvent();
      if (t === undefined) return done();
      this.clock.t = Math.max(this.clock.t, t);
    }
    return done();
  }

  get inTransit(): number {
    return this.transit.length;
  }
}
