// The Modbus TCP master against jsmodbus's TCP server (an independent implementation) and against
// scripted loopback servers for the faults: a reply from the wrong unit, a late reply with an old
// transaction id, a broken length field (desync -> reconnect), and a device restart.

import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import * as jsmodbus from 'jsmodbus';
import { ModbusBus } from '../../../src/ports/modbus/bus.js';
import { TcpTransport } from '../../../src/ports/modbus/tcp-transport.js';
import { ModbusException, PortErrorCode } from '../../../src/ports/errors.js';
import { errorOf } from '../../helpers/errors.js';
import { waitFor } from '../../virtual-serial/harness.js';

interface Running {
  server: Server;
  port: number;
  sockets: Set<Socket>;
  stop: () => Promise<void>;
}

const running: Running[] = [];
const buses: ModbusBus[] = [];

afterEach(async () => {
  for (const b of buses.splice(0)) await b.close();
  for (const r of running.splice(0)) await r.stop();
});

async function listen(server: Server, port = 0): Promise<Running> {
  const sockets = new Set<Socket>();
  server.on('connection', (s) => (sockets.add(s), s.on('close', () => sockets.delete(s))));
  await new Promise<void>((res, rej) => (server.once('error', rej), server.listen({ host: '127.0.0.1', port }, () => res())));
  const a = server.address();
  const r: Running = {
    server,
    port: typeof a === 'object' && a ? a.port : 0,
    sockets,
    stop: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
      }),
  };
  running.push(r);
  return r;
}

/** jsmodbus TCP slave with 20 holding registers = 100 + address, and 8 coils. */
async function jsmodbusSlave(port = 0): Promise<Running & { holding: Buffer }> {
  const holding = Buffer.alloc(40);
  for (let i = 0; i < 20; i++) holding.writeUInt16BE(100 + i, 2 * i);
  const net = createServer();
  new jsmodbus.server.TCP(net, { holding, coils: Buffer.from([0b0000_0101]) });
  return { ...(await listen(net, port)), holding };
}

/** A server that answers each request ADU with whatever `reply` returns (null: stay silent). */
async function scripted(reply: (req: Buffer, n: number) => Buffer | null): Promise<Running> {
  let n = 0;
  const net = createServer((s) =>
    s.on('data', (d) => {
      const r = reply(d, n++);
      if (r) s.write(r);
    }),
  );
  return listen(net);
}

function mbap(tid: number, unit: number, pdu: number[]): Buffer {
  return Buffer.from([tid >> 8, tid & 0xff, 0, 0, 0, pdu.length + 1, unit, ...pdu]);
}

/** Default timeout generous enough that a loaded machine never turns a prompt reply into a timeout. */
async function tcpBus(port: number, timeoutMs = 1_000): Promise<ModbusBus> {
  const bus = ModbusBus.tcp({ host: '127.0.0.1', port, timeoutMs, backoff: { baseMs: 20, capMs: 200 } });
  buses.push(bus);
  await (bus.transport as TcpTransport).whenOpen();
  return bus;
}

describe('Modbus TCP master', () => {
  it('reads and writes a jsmodbus TCP slave and surfaces its exceptions', async () => {
    const slave = await jsmodbusSlave();
    const bus = await tcpBus(slave.port);
    expect(await bus.read(1, 'holding', 0, 5)).toEqual([100, 101, 102, 103, 104]);
    expect(await bus.read(1, 'coils', 0, 4)).toEqual([1, 0, 1, 0]);
    await bus.write(1, 'holding', 2, [7, 8]);
    await bus.write(1, 'holding', 4, [9]);
    expect(slave.holding.readUInt16BE(4)).toBe(7);
    expect(await bus.read(1, 'holding', 1, 5)).toEqual([101, 7, 8, 9, 105]);
    const e = await errorOf(bus.write(1, 'holding', 19, [1, 2])); // past its 20 registers
    expect(e).toBeInstanceOf(ModbusException);
    expect((e as ModbusException).exceptionCode).toBe(2);
    expect(bus.unitStats(1).exceptions).toBe(1);
    // jsmodbus 5's server answers a read past its table with a short reply (byte count 10: five
    // registers' worth for a ten-register read) instead of exception 02; the master refuses it.
    expect((await errorOf(bus.read(1, 'holding', 15, 10))).code).toBe(PortErrorCode.MODBUS_TIMEOUT);
    expect(bus.unitStats(1).mismatchedDrops).toBe(1);
  });

  it('drops a reply from the wrong unit', async () => {
    const srv = await scripted((req) => mbap(req.readUInt16BE(0), 9, [3, 2, 0, 1]));
    const bus = await tcpBus(srv.port);
    expect((await errorOf(bus.read(1, 'holding', 0, 1))).code).toBe(PortErrorCode.MODBUS_TIMEOUT);
    expect(bus.unitStats(1).wrongUnitDrops).toBe(1);
  });

  it('drops a late reply to a timed-out request and still answers the next one', async () => {
    let late: Buffer | null = null;
    const srv = await scripted((req, n) => {
      const tid = req.readUInt16BE(0);
      if (n === 0) {
        late = mbap(tid, 1, [3, 2, 0, 1]); // answered only after the next request arrives
        return null;
      }
      return Buffer.concat([late!, mbap(tid, 1, [3, 2, 0, 2])]);
    });
    const bus = await tcpBus(srv.port, 100);
    expect((await errorOf(bus.read(1, 'holding', 0, 1))).code).toBe(PortErrorCode.MODBUS_TIMEOUT);
    expect(await bus.read(1, 'holding', 0, 1, { timeoutMs: 2_000 })).toEqual([2]);
    expect(bus.unitStats(1).staleDrops).toBe(1);
  });

  it('reconnects when the reply stream loses framing', async () => {
    const srv = await scripted((req, n) => (n === 0 ? Buffer.from([0, 1, 0, 0, 0, 0, 1]) : mbap(req.readUInt16BE(0), 1, [3, 2, 0, 5])));
    const bus = await tcpBus(srv.port);
    const t = bus.transport as TcpTransport;
    const states: string[] = [];
    t.on('state', (s) => states.push(s));
    expect((await errorOf(bus.read(1, 'holding', 0, 1))).code).toBe(PortErrorCode.MODBUS_OFFLINE);
    expect(bus.stats.line.desyncs).toBe(1);
    await waitFor(() => t.state === 'open', 10_000, 'redial');
    expect(states).toEqual(['waiting', 'connecting', 'open']);
    expect(await bus.read(1, 'holding', 0, 1)).toEqual([5]);
  });

  it('fails fast while the device is down and reconnects after it restarts', async () => {
    const slave = await jsmodbusSlave();
    const bus = await tcpBus(slave.port);
    const t = bus.transport as TcpTransport;
    expect(await bus.read(1, 'holding', 0, 1)).toEqual([100]);
    await slave.stop();
    await waitFor(() => t.state !== 'open', 10_000, 'the disconnect');
    expect((await errorOf(bus.read(1, 'holding', 0, 1))).code).toBe(PortErrorCode.MODBUS_OFFLINE);
    await waitFor(() => t.state === 'waiting', 10_000, 'a failed redial');
    await jsmodbusSlave(slave.port);
    await t.whenOpen();
    expect(await bus.read(1, 'holding', 0, 2)).toEqual([100, 101]);
    expect(bus.unitStats(1).timeouts).toBe(0);
  });

  it('a silent unit behind a TCP gateway does not stall the others', async () => {
    const srv = await scripted((req) => (req[6] === 2 ? null : mbap(req.readUInt16BE(0), req[6]!, [3, 2, 0, req[6]!])));
    const bus = await tcpBus(srv.port, 80);
    let live = 0;
    let timeouts = 0;
    let stop = false;
    const a = (async () => {
      while (!stop) if ((await bus.read(1, 'holding', 0, 1, { timeoutMs: 2_000 }))[0] === 1) live++;
    })();
    const b = (async () => {
      while (!stop) if ((await errorOf(bus.read(2, 'holding', 0, 1))).code === PortErrorCode.MODBUS_TIMEOUT) timeouts++;
    })();
    await waitFor(() => timeouts >= 6, 10_000, 'six timeouts');
    stop = true;
    await Promise.all([a, b]);
    expect(live).toBeGreaterThanOrEqual(timeouts - 1);
    // Late replies never come here, but stale ones would be dropped, not mistaken: none were seen.
    expect(bus.unitStats(1).staleDrops + bus.unitStats(1).wrongUnitDrops).toBe(0);
  });
});
