// The bus scheduler on a scripted transport and a fake clock: one request on the wire at a time,
// round robin across units, a dead slave costing one timeout per round and never stalling a live
// one (asserted with counts), bounded per-unit queues, typed exceptions/timeouts/offline, and
// merged reads with their illegal-address fallback.

import { describe, expect, it } from 'vitest';
import { ModbusBus, URGENT_RUN_MAX } from '../../../src/ports/modbus/bus.js';
import { BusStats } from '../../../src/ports/modbus/stats.js';
import type { Exchange, ModbusTransport } from '../../../src/ports/modbus/transport.js';
import { ModbusException, ModbusTimeoutError, PortErrorCode } from '../../../src/ports/errors.js';
import { toHex } from '../../../src/uzp/bytes.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { errorOf } from '../../helpers/errors.js';
import { CodedError, CommonCode } from '../../../src/lib/errors.js';

type Behaviour = 'ok' | 'dead' | { exception: number };

/** A wire with scripted slaves: each live slave holds registers 0..(size-1) = addr * 3 + unit. */
class ScriptedTransport implements ModbusTransport {
  readonly name = 'scripted';
  readonly maxUnit = 247;
  readonly broadcastUnit0 = true;
  online = true;
  inFlight = 0;
  maxInFlight = 0;
  readonly served: number[] = [];
  readonly behaviour = new Map<number, Behaviour>();

  constructor(
    private readonly clock: FakeClock,
    readonly replyMs = 5,
    readonly size = 100,
  ) {}

  exchange(x: Exchange): Promise<Uint8Array> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.served.push(x.unit);
    x.stats.requests++;
    const b = this.behaviour.get(x.unit) ?? 'ok';
    return new Promise<Uint8Array>((resolve, reject) => {
      if (x.unit === 0) return this.clock.setTimeout(() => resolve(new Uint8Array(0)), 1);
      if (b === 'dead') return this.clock.setTimeout(() => reject(new ModbusTimeoutError(x.unit, x.timeoutMs)), x.timeoutMs);
      this.clock.setTimeout(() => resolve(typeof b === 'object' ? Uint8Array.of(x.pdu[0]! | 0x80, b.exception) : this.answer(x.unit, x.pdu)), this.replyMs);
    }).finally(() => this.inFlight--);
  }

  answer(unit: number, pdu: Uint8Array): Uint8Array {
    const fc = pdu[0]!;
    const addr = (pdu[1]! << 8) | pdu[2]!;
    const n = (pdu[3]! << 8) | pdu[4]!;
    if (fc === 3 || fc === 4) {
      if (addr + n > this.size) return Uint8Array.of(fc | 0x80, 2);
      const out = [fc, 2 * n];
      for (let i = 0; i < n; i++) out.push(((addr + i) * 3 + unit) >> 8, ((addr + i) * 3 + unit) & 0xff);
      return Uint8Array.from(out);
    }
    return pdu.slice(0, 5); // writes: echo
  }

  async close(): Promise<void> {}
}

function setup(opts: { replyMs?: number; size?: number; unitQueueMax?: number } = {}): { clock: FakeClock; t: ScriptedTransport; bus: ModbusBus } {
  const clock = new FakeClock();
  const t = new ScriptedTransport(clock, opts.replyMs, opts.size);
  const bus = new ModbusBus(t, new BusStats(), { clock, timeoutMs: 100, ...(opts.unitQueueMax ? { unitQueueMax: opts.unitQueueMax } : {}) });
  return { clock, t, bus };
}

/** Advances the fake clock in 1 ms steps, letting promise chains run between steps. */
async function run(clock: FakeClock, ms: number): Promise<void> {
  for (let i = 0; i < ms; i++) {
    clock.advance(1);
    await new Promise((r) => setImmediate(r));
  }
}

function regs(unit: number, addr: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => (addr + i) * 3 + unit);
}

describe('ModbusBus scheduling', () => {
  it('serves units round robin with one request on the wire at a time', async () => {
    const { clock, t, bus } = setup();
    const all = [1, 1, 1, 2, 2, 2].map((u) => bus.read(u, 'holding', 0, 2));
    await run(clock, 60);
    await Promise.all(all);
    expect(t.served).toEqual([1, 2, 1, 2, 1, 2]);
    expect(t.maxInFlight).toBe(1);
  });

  it('a dead slave costs one timeout per round and the live slave keeps polling', async () => {
    const { clock, t, bus } = setup();
    t.behaviour.set(2, 'dead');
    let live = 0;
    let timeouts = 0;
    let stop = false;
    const livePoller = (async () => {
      while (!stop) {
        expect(await bus.read(1, 'holding', 0, 4)).toEqual(regs(1, 0, 4));
        live++;
      }
    })();
    const deadPoller = (async () => {
      while (!stop) {
        const e = await errorOf(bus.read(2, 'holding', 0, 4));
        expect(e.code).toBe(PortErrorCode.MODBUS_TIMEOUT);
        timeouts++;
      }
    })();
    await run(clock, 2100); // 20 rounds of (5 ms live + 100 ms timeout)
    stop = true;
    await run(clock, 300);
    await Promise.all([livePoller, deadPoller]);
    // Each round costs exactly one timeout: the live slave completes a poll in every round.
    expect(timeouts).toBeGreaterThanOrEqual(19);
    expect(live).toBeGreaterThanOrEqual(timeouts - 1);
    expect(live).toBeLessThanOrEqual(timeouts + 1);
    expect(bus.unitStats(2).timeouts).toBe(timeouts);
    expect(bus.unitStats(1).timeouts).toBe(0);
    expect(t.maxInFlight).toBe(1);
  });

  it('requests queued for a dead slave do not stall a live one: it waits for at most one timeout', async () => {
    const { clock, t, bus } = setup();
    t.behaviour.set(2, 'dead');
    let deadDone = 0;
    const dead = Array.from({ length: 5 }, () => bus.read(2, 'holding', 0, 1).catch((e: { code?: string }) => {
      expect(e.code).toBe(PortErrorCode.MODBUS_TIMEOUT);
      deadDone++;
    }));
    let deadDoneWhenLiveAnswered = -1;
    const live = bus.read(1, 'holding', 0, 1).then(() => (deadDoneWhenLiveAnswered = deadDone));
    await run(clock, 700);
    await Promise.all([live, ...dead]);
    expect(deadDoneWhenLiveAnswered).toBeLessThanOrEqual(1);
    expect(deadDone).toBe(5);
  });

  it(`an operator keeping requests in flight goes first, but one waiting poll goes after every ${URGENT_RUN_MAX} of them`, async () => {
    const { clock, t, bus } = setup();
    // Four operator reads of unit 1 always in flight (each sent again as soon as it is answered).
    let running = true;
    const operator = async (): Promise<void> => {
      while (running) await bus.request(1, Uint8Array.of(3, 0, 0, 0, 1), { priority: 'operator' });
    };
    const loops = [operator(), operator(), operator(), operator()];
    const polls = [bus.read(2, 'holding', 0, 1), bus.read(2, 'holding', 1, 1)];
    await run(clock, 80);
    // Before: unit 2's polls waited for as long as the operator kept requests queued.
    expect(await Promise.all(polls)).toEqual([regs(2, 0, 1), regs(2, 1, 1)]);
    // The first operator read was on the wire before the polls queued; then four more, then a poll.
    const first = t.served.indexOf(2);
    expect(first).toBe(1 + URGENT_RUN_MAX);
    expect(t.served.slice(first + 1, first + 1 + URGENT_RUN_MAX + 1)).toEqual([1, 1, 1, 1, 2]);
    running = false;
    await run(clock, 40);
    await Promise.all(loops);
  });

  it('an operator alone on the bus is never held back', async () => {
    const { clock, t, bus } = setup();
    const reqs = Array.from({ length: 3 * URGENT_RUN_MAX }, () => bus.request(1, Uint8Array.of(3, 0, 0, 0, 1), { priority: 'operator' }));
    await run(clock, 100);
    await Promise.all(reqs);
    expect(t.served).toEqual(Array(3 * URGENT_RUN_MAX).fill(1));
  });

  it('bounds each unit’s queue and counts refusals', async () => {
    const { clock, bus } = setup({ unitQueueMax: 4 });
    const ps = Array.from({ length: 10 }, () => bus.read(3, 'holding', 0, 1).then(() => 'ok', (e: CodedError) => e.code));
    expect(bus.queued(3)).toBe(4); // one on the wire, four waiting
    await run(clock, 40);
    const results = await Promise.all(ps);
    expect(results.filter((r) => r === 'ok').length).toBe(5);
    expect(results.filter((r) => r === CommonCode.BUFFER_FULL).length).toBe(5);
    expect(bus.unitStats(3).queueFull).toBe(5);
    // Another unit is not affected by unit 3's full queue.
    const other = bus.read(4, 'holding', 0, 1);
    await run(clock, 10);
    expect(await other).toEqual(regs(4, 0, 1));
  });
});

describe('ModbusBus results and errors', () => {
  it('surfaces exception replies with their code, and passes them through raw in request()', async () => {
    const { clock, t, bus } = setup();
    t.behaviour.set(5, { exception: 0x02 });
    const read = errorOf(bus.read(5, 'holding', 0, 1));
    const raw = bus.request(5, Uint8Array.of(3, 0, 0, 0, 1));
    await run(clock, 20);
    const e = await read;
    expect(e).toBeInstanceOf(ModbusException);
    expect(e.code).toBe(PortErrorCode.MODBUS_EXCEPTION);
    expect((e as ModbusException).exceptionCode).toBe(2);
    expect((e as ModbusException).functionCode).toBe(3);
    expect(toHex(await raw)).toBe('8302');
    expect(bus.unitStats(5).exceptions).toBe(2);
  });

  it('fails at once when the wire is offline, without spending a timeout', async () => {
    const { t, bus } = setup();
    t.online = false;
    const e = await errorOf(bus.read(1, 'holding', 0, 1));
    expect(e.code).toBe(PortErrorCode.MODBUS_OFFLINE);
    expect(bus.unitStats(1).offline).toBe(1);
    expect(t.served).toEqual([]);
  });

  it('validates unit ids; unit 0 is an RTU broadcast that may be written, not read', async () => {
    const { clock, bus } = setup();
    expect((await errorOf(bus.read(0, 'holding', 0, 1))).code).toBe(CommonCode.USAGE);
    expect((await errorOf(bus.read(248, 'holding', 0, 1))).code).toBe(CommonCode.USAGE);
    expect((await errorOf(bus.request(1, new Uint8Array(0)))).code).toBe(CommonCode.USAGE);
    expect((await errorOf(bus.request(1, Uint8Array.of(0x83, 0)))).code).toBe(CommonCode.USAGE);
    const w = bus.write(0, 'holding', 1, [5]);
    await run(clock, 5);
    await expect(w).resolves.toBeUndefined();
  });

  it('readMany merges, splits, and retries parts one by one after illegal-data-address', async () => {
    const { clock, t, bus } = setup({ size: 20 });
    const p = bus.readMany([
      { unit: 1, table: 'holding', addr: 0, count: 10 },
      { unit: 1, table: 'holding', addr: 10, count: 10 },
      { unit: 1, table: 'holding', addr: 20, count: 5 }, // past the slave's table
      { unit: 2, table: 'holding', addr: 3, count: 2 },
    ]);
    await run(clock, 60);
    const out = await p;
    expect(out[0]).toEqual({ ok: true, values: regs(1, 0, 10) });
    expect(out[1]).toEqual({ ok: true, values: regs(1, 10, 10) });
    const third = out[2]!;
    expect(third.ok).toBe(false);
    expect(!third.ok && (third.error as ModbusException).exceptionCode).toBe(2);
    expect(out[3]).toEqual({ ok: true, values: regs(2, 3, 2) });
    // unit 1: one merged request, then three single ones; unit 2: one.
    expect(t.served.filter((u) => u === 1).length).toBe(4);
    expect(t.served.filter((u) => u === 2).length).toBe(1);
  });

  it('readMany on a dead slave spends one timeout for all merged parts', async () => {
    const { clock, t, bus } = setup();
    t.behaviour.set(9, 'dead');
    const p = bus.readMany([
      { unit: 9, table: 'holding', addr: 0, count: 5 },
      { unit: 9, table: 'holding', addr: 5, count: 5 },
      { unit: 9, table: 'holding', addr: 10, count: 5 },
    ]);
    await run(clock, 150);
    const out = await p;
    expect(out.every((o) => !o.ok && o.error.code === PortErrorCode.MODBUS_TIMEOUT)).toBe(true);
    expect(bus.unitStats(9).timeouts).toBe(1);
  });

  it('close() refuses what is still queued', async () => {
    const { clock, bus } = setup();
    const a = bus.read(1, 'holding', 0, 1);
    const b = errorOf(bus.read(1, 'holding', 0, 1));
    await bus.close();
    expect((await b).code).toBe(PortErrorCode.PORT_CLOSED);
    await run(clock, 10);
    await a;
    expect((await errorOf(bus.read(1, 'holding', 0, 1))).code).toBe(PortErrorCode.PORT_CLOSED);
  });
});
