// A Modbus RTU multi-drop line (Modbus over Serial Line V1.02 §2.1, §2.5) with several slaves on one
// byte duplex, as on an RS-485 pair: every slave hears every frame, only the addressed one answers,
// a frame with a bad CRC gets silence (§2.5.1.2), a broadcast (unit 0) is executed by all and
// answered by none. Faults per slave (dead, slow, wrong unit, bad CRC, noise) and on the line
// (garbage bursts) reproduce what the gateway must survive in the field.

import { systemClock, type Clock } from '../lib/clock.js';
import { listen, type ByteDuplex } from './duplex.js';
import { DEFAULT_FRAMING, t35Ms, type Framing } from '../ports/line-timing.js';
import { ModbusSlave, type ModbusSlaveSpec } from './modbus-slave.js';
import { BROADCAST_UNIT, decodeRtu, encodeRtu, expectedRequestLength } from './modbus-rtu-frame.js';
import { randomBytes, seeded, type Random } from './prng.js';
import { RtuFramer } from './rtu-framer.js';
import { CommonCode, DecodeError, LocalError } from '../lib/errors.js';
import { PortErrorCode } from '../ports/errors.js';

export interface ModbusRtuBusOptions {
  readonly baud: number;
  readonly framing?: Framing;
  /** At least one slave; unit ids must be distinct. */
  readonly slaves: readonly ModbusSlaveSpec[];
  readonly clock?: Clock;
  /** Spec-strict frame boundaries: any t3.5 silence ends a frame (see rtu-framer.ts). */
  readonly strictFraming?: boolean;
  /** Seed for noise bytes and fault rates, so a failing run can be replayed. */
  readonly seed?: number;
}

/** What the bus saw, for tests and the demo: every frame, and what became of it. */
export type BusEvent =
  | { readonly type: 'reply'; readonly unit: number; readonly fn: number; readonly exception: boolean; readonly faulted: boolean }
  | { readonly type: 'silent'; readonly unit: number; readonly reason: 'no-such-unit' | 'dead' }
  | { readonly type: 'broadcast'; readonly fn: number }
  | { readonly type: 'bad-frame'; readonly reason: 'crc' | 'malformed' | 'overrun'; readonly bytes: number }
  | { readonly type: 'noise'; readonly bytes: number };

export interface BusStats {
  frames: number;
  replies: number;
  exceptions: number;
  silent: number;
  broadcasts: number;
  crcErrors: number;
  malformed: number;
  overruns: number;
  faultedReplies: number;
}

export class ModbusRtuBus {
  readonly stats: BusStats = { frames: 0, replies: 0, exceptions: 0, silent: 0, broadcasts: 0, crcErrors: 0, malformed: 0, overruns: 0, faultedReplies: 0 };
  private readonly slaves = new Map<number, ModbusSlave>();
  private readonly framer: RtuFramer;
  private readonly clock: Clock;
  private readonly rnd: Random;
  private readonly listeners = new Set<(e: BusEvent) => void>();
  private readonly pending = new Set<() => void>();
  private unlisten: () => void;
  private closed = false;

  constructor(
    private readonly line: ByteDuplex,
    opts: ModbusRtuBusOptions,
  ) {
    if (opts.slaves.length === 0) throw new LocalError(CommonCode.USAGE, 'modbus bus: expected at least one slave');
    for (const spec of opts.slaves) {
      if (this.slaves.has(spec.unit)) throw new LocalError(CommonCode.USAGE, `modbus bus: unit id ${spec.unit} appears twice on one line`);
      this.slaves.set(spec.unit, new ModbusSlave(spec));
    }
    this.clock = opts.clock ?? systemClock;
    this.rnd = seeded(opts.seed ?? 0x5eed);
    const silenceMs = t35Ms(opts.baud, opts.framing ?? DEFAULT_FRAMING);
    this.framer = new RtuFramer(
      { silenceMs, clock: this.clock, ...(opts.strictFraming === true ? {} : { expectedLength: expectedRequestLength }) },
      (f) => this.onFrame(f),
      (n) => {
        this.stats.overruns++;
        this.emit({ type: 'bad-frame', reason: 'overrun', bytes: n });
      },
    );
    this.unlisten = listen(line, (c) => this.framer.push(c));
  }

  /** The slave with this unit id (to change registers or faults while the bus runs). */
  slave(unit: number): ModbusSlave {
    const s = this.slaves.get(unit);
    if (s === undefined) throw new LocalError(CommonCode.USAGE, `modbus bus: no slave with unit id ${unit} (have ${[...this.slaves.keys()].join(', ')})`);
    return s;
  }

  get units(): number[] {
    return [...this.slaves.keys()];
  }

  /** Subscribes to bus events; returns the unsubscribe function. */
  onEvent(fn: (e: BusEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Puts garbage on the line now (EMI, a hot-plugged device babbling): `n` seeded random bytes or the bytes given. */
  injectNoise(noise: number | Uint8Array): void {
    const bytes = typeof noise === 'number' ? randomBytes(this.rnd, noise) : noise;
    this.emit({ type: 'noise', bytes: bytes.length });
    this.line.write(bytes);
  }

  /** Stops listening and cancels replies not yet sent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unlisten();
    this.framer.reset();
    for (const cancel of this.pending) cancel();
    this.pending.clear();
  }

  private emit(e: BusEvent): void {
    for (const l of this.listeners) l(e);
  }

  private onFrame(adu: Uint8Array): void {
    this.stats.frames++;
    let frame;
    try {
      frame = decodeRtu(adu);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      const crc = e.code === PortErrorCode.MODBUS_CRC;
      if (crc) this.stats.crcErrors++;
      else this.stats.malformed++;
      this.emit({ type: 'bad-frame', reason: crc ? 'crc' : 'malformed', bytes: adu.length });
      return; // §2.5.1.2: a frame that fails its check is discarded, nobody answers
    }
    const now = this.clock.now();
    if (frame.unit === BROADCAST_UNIT) {
      this.stats.broadcasts++;
      for (const s of this.slaves.values()) if (s.faults.dead !== true) s.handle(frame.pdu, now, true);
      this.emit({ type: 'broadcast', fn: frame.pdu[0] ?? 0 });
      return;
    }
    const slave = this.slaves.get(frame.unit);
    if (slave === undefined || slave.faults.dead === true) {
      this.stats.silent++;
      this.emit({ type: 'silent', unit: frame.unit, reason: slave === undefined ? 'no-such-unit' : 'dead' });
      return;
    }
    const pdu = slave.handle(frame.pdu, now)!;
    const delay = slave.faults.delayMs ?? 0;
    if (delay <= 0) return this.reply(slave, pdu);
    const cancel = this.clock.setTimeout(() => {
      this.pending.delete(cancel);
      this.reply(slave, pdu);
    }, delay);
    this.pending.add(cancel);
  }

  private reply(slave: ModbusSlave, pdu: Uint8Array): void {
    if (this.closed) return;
    const f = slave.faults;
    const hit = (f.replyAsUnit !== undefined || f.badCrc === true || (f.noiseBytes ?? 0) > 0) && this.rnd() < (f.rate ?? 1);
    let adu = encodeRtu({ unit: hit && f.replyAsUnit !== undefined ? f.replyAsUnit : slave.unit, pdu });
    if (hit && f.badCrc === true) adu[adu.length - 1]! ^= 0xff;
    if (hit && (f.noiseBytes ?? 0) > 0) {
      const noise = randomBytes(this.rnd, f.noiseBytes!);
      const glued = new Uint8Array(noise.length + adu.length);
      glued.set(noise);
      glued.set(adu, noise.length);
      adu = glued;
    }
    const exception = ((pdu[0] ?? 0) & 0x80) !== 0;
    this.stats.replies++;
    if (exception) this.stats.exceptions++;
    if (hit) this.stats.faultedReplies++;
    this.emit({ type: 'reply', unit: slave.unit, fn: (pdu[0] ?? 0) & 0x7f, exception, faulted: hit });
    this.line.write(adu);
  }
}
