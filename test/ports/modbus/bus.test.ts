// The bus scheduler on a scripted transport and a fake clock: one request on the wire at a time,
// round robin across units, a dead slave costing one timeout per round and never stalling a live
// one (asserted with counts), bounded per-unit queues, operators and polls sharing the bus by time,
// owners sharing a unit's operator queue, aborted requests taken off the queue, typed
// exceptions/timeouts/offline, and merged reads with their illegal-address fallback.

import { describe, expect, it } from 'vitest';
import { ModbusBus } from '../../../src/ports/modbus/bus.js';
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
  /** The PDUs that went on the wire, in order. */
  readonly sent: Uint8Array[] = [];
  readonly behaviour = new Map<number, Behaviour>();
  /** Reply time per unit where it differs from replyMs. */
  readonly replyMsOf = new Map<number, number>();

  constructor(
    private readonly clock: FakeClock,
    readonly replyMs = 5,
    readonly size = 100,
  ) {}

  exchange(x: Exchange): Promise<Uint8Array> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.served.push(x.unit);
    this.sent.push(x.pdu);
    x.stats.requests++;
    const b = this.behaviour.get(x.unit) ?? 'ok';
    return new Promise<Uint8Array>((resolve, reject) => {
      if (x.unit === 0) return this.clock.setTimeout(() => resolve(new Uint8Array(0)), 1);
      if (b === 'dead') return this.clock.setTimeout(() => reject(new ModbusTimeoutError(x.unit, x.timeoutMs)), x.timeoutMs);
      this.clock.setTimeout(() => resolve(typeof b === 'object' ? Uint8Array.of(x.pdu[0]! | 0x80, b.exception) : this.answer(x.unit, x.pdu)), this.replyMsOf.get(x.unit) ?? this.replyMs);
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

/** Resolves after `ms` of the fake clock. */
function sleep(clock: FakeClock, ms: number): Promise<void> {
  return new Promise((r) => clock.setTimeout(r, ms));
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

  it('an operator request goes ahead of the polls waiting, after the exchange on the wire', async () => {
    const { clock, t, bus } = setup();
    const polls = [0, 1, 2, 3].map((a) => bus.read(2, 'holding', a, 1));
    const op = bus.request(1, Uint8Array.of(3, 0, 0, 0, 1), { priority: 'operator' });
    await run(clock, 40);
    await Promise.all([...polls, op]);
    expect(t.served).toEqual([2, 1, 2, 2, 2]);
  });

  /**
   * Bus time (ms) of operator requests (unit 1, 50 ms each) and of polls (unit 2, 5 ms each) over
   * 3 s, with polls always waiting and operators sending as `operator` says.
   */
  async function share(operator: (bus: ModbusBus, clock: FakeClock, running: () => boolean) => Promise<void>[]): Promise<{ op: number; poll: number }> {
    const { clock, t, bus } = setup();
    t.replyMsOf.set(1, 50);
    let running = true;
    const loops = operator(bus, clock, () => running);
    const poller = async (): Promise<void> => {
      while (running) await bus.read(2, 'holding', 0, 1);
    };
    const polls = [poller(), poller()];
    await run(clock, 3000);
    const served = t.served.slice(); // not what drains after
    running = false;
    await run(clock, 600); // what is in flight: 8 operator requests of 50 ms and the polls between them
    await Promise.all([...loops, ...polls]);
    expect(t.maxInFlight).toBe(1);
    const op = served.filter((u) => u === 1).length * 50;
    const poll = served.filter((u) => u === 2).length * 5;
    return { op, poll };
  }

  it('operators keeping 8 long requests in flight get half of the bus time, not all of it: the polls keep the rest', async () => {
    const { op, poll } = await share((bus, _clock, running) =>
      Array.from({ length: 8 }, async () => {
        while (running()) await bus.request(1, Uint8Array.of(3, 0, 0, 0, 1), { priority: 'operator' });
      }),
    );
    // Before: 4 operator turns to 1 poll turn, whatever a turn cost: the polls had 5 of every 205 ms.
    expect(poll / (op + poll)).toBeGreaterThan(0.45);
    expect(op / (op + poll)).toBeGreaterThan(0.45);
  });

  it('an operator sending one long request at a time (a round trip between them) gets half of the bus time too', async () => {
    const { op, poll } = await share((bus, clock, running) => [
      (async () => {
        while (running()) {
          await bus.request(1, Uint8Array.of(3, 0, 0, 0, 1), { priority: 'operator' });
          await sleep(clock, 2); // the reply's way to the operator and the next request's way back
        }
      })(),
    ]);
    // Before: its queue was empty whenever the bus chose, so it took every other turn: 50 of every 55 ms.
    expect(poll / (op + poll)).toBeGreaterThan(0.45);
    expect(op).toBeGreaterThan(0);
  });

  it('an operator alone on the bus is never held back', async () => {
    const { clock, t, bus } = setup();
    const reqs = Array.from({ length: 12 }, () => bus.request(1, Uint8Array.of(3, 0, 0, 0, 1), { priority: 'operator' }));
    await run(clock, 100);
    await Promise.all(reqs);
    expect(t.served).toEqual(Array(12).fill(1));
  });

  it('owners share a unit’s operator queue: a flooder gets BUFFER_FULL past its share, the other owner is let in and served in turn', async () => {
    const { clock, t, bus } = setup({ unitQueueMax: 8 });
    const op = (owner: string, addr: number) => bus.request(1, Uint8Array.of(3, 0, addr, 0, 1), { priority: 'operator', owner }).then(() => 'ok', (e: CodedError) => e.code);
    // A: one on the wire, 8 waiting (the whole queue: it is alone), 3 refused.
    const a = Array.from({ length: 12 }, () => op('A', 0));
    expect(bus.queued(1)).toBe(8);
    // B has nothing waiting: let in although the queue is full, and served next but one.
    const b1 = op('B', 1);
    expect(bus.queued(1)).toBe(9);
    // A holds more than its share now (ceil(8 / 2) = 4): refused.
    expect(await op('A', 0)).toBe(CommonCode.BUFFER_FULL);
    await run(clock, 16);
    expect(await b1).toBe('ok');
    // The wire saw A's first, then A and B in turn.
    expect(t.sent.slice(0, 3).map((p) => p[2])).toEqual([0, 0, 1]);
    // B's next requests, one at a time, are each let in and served within two exchanges.
    for (let i = 0; i < 3; i++) {
      const at = t.sent.length;
      const b = op('B', 1);
      await run(clock, 16);
      expect(await b).toBe('ok');
      expect(t.sent.slice(at, at + 2).map((p) => p[2])).toContain(1);
    }
    await run(clock, 100);
    const results = await Promise.all(a);
    expect(results.filter((r) => r === CommonCode.BUFFER_FULL)).toHaveLength(3);
    expect(results.filter((r) => r === 'ok')).toHaveLength(9);
  });

  it('an aborted request still waiting is taken off the queue and never sent; one on the wire completes', async () => {
    const { clock, t, bus } = setup();
    const onWire = new AbortController();
    const waiting = new AbortController();
    const a = bus.request(1, Uint8Array.of(6, 0, 1, 0, 7), { priority: 'operator', signal: onWire.signal });
    const b = errorOf(bus.request(1, Uint8Array.of(6, 0, 2, 0, 7), { priority: 'operator', signal: waiting.signal }));
    const c = bus.request(1, Uint8Array.of(6, 0, 3, 0, 7), { priority: 'operator', signal: waiting.signal, owner: 'other' });
    expect(bus.queued(1)).toBe(2);
    waiting.abort();
    onWire.abort();
    expect(bus.queued(1)).toBe(0);
    expect((await b).code).toBe(CommonCode.ABORTED);
    expect((await errorOf(c)).code).toBe(CommonCode.ABORTED);
    await run(clock, 20);
    expect([...(await a)]).toEqual([6, 0, 1, 0, 7]);
    // Only the write that was on the wire went out. Before: all three, the aborted ones after their callers gave up.
    expect(t.sent.map((p) => p[2])).toEqual([1]);
    // Aborted before it is asked: refused at once, nothing queued.
    expect((await errorOf(bus.request(1, Uint8Array.of(6, 0, 4, 0, 7), { priority: 'operator', signal: waiting.signal }))).code).toBe(CommonCode.ABORTED);
    expect(t.sent).toHaveLength(1);
  });

  it('operator requests queued for a unit that falls silent meanwhile fail at once, without the wire', async () => {
    const { clock, t, bus } = setup();
    t.behaviour.set(2, 'dead');
    const reqs = Array.from({ length: 10 }, () => errorOf(bus.request(2, Uint8Array.of(3, 0, 0, 0, 1), { priority: 'operator' })));
    await run(clock, 1100); // enough for all ten timeouts, as before
    const codes = (await Promise.all(reqs)).map((e) => e.code);
    // Two timeouts make the unit silent; the 8 behind them would only have repeated it (8 x 100 ms of everyone's bus).
    expect(codes).toEqual([...Array(2).fill(PortErrorCode.MODBUS_TIMEOUT), ...Array(8).fill(PortErrorCode.MODBUS_UNIT_SILENT)]);
    expect(t.served).toEqual([2, 2]);
    expect(bus.unitStats(2).silentRefusals).toBe(8);
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
