// The local Modbus TCP endpoint against clients that do not play along, over real loopback sockets:
// one that pipelines requests and does not read the replies must not grow the operator's memory
// (its socket is paused past a high-water mark, and answered from where it stopped once it reads),
// and a forwarding channel that is full answers 0x06 (busy), not 0x0A (path failed).

import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CommonCode, StateError } from '../../src/lib/errors.js';
import { ModbusTcpEndpoint, type ModbusForward } from '../../src/operator/modbus-tcp.js';
import { MbapParser } from '../../src/ports/modbus/mbap.js';
import { toHex } from '../../src/uzp/bytes.js';

const endpoints: ModbusTcpEndpoint[] = [];
const sockets: Socket[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const s of sockets.splice(0)) s.destroy();
  for (const ep of endpoints.splice(0)) await ep.close();
});

async function listen(forward: ModbusForward): Promise<{ ep: ModbusTcpEndpoint; port: number }> {
  const ep = new ModbusTcpEndpoint(forward);
  endpoints.push(ep);
  return { ep, port: Number((await ep.listen('127.0.0.1', 0)).split(':')[1]) };
}

async function open(forward: ModbusForward): Promise<{ ep: ModbusTcpEndpoint; s: Socket }> {
  const { ep, port } = await listen(forward);
  const s = connect({ host: '127.0.0.1', port, noDelay: true });
  sockets.push(s);
  await new Promise((r) => s.once('connect', r));
  return { ep, s };
}

/** Read Holding Registers of one register at unit 0x11, transaction id `tid`. */
const request = (tid: number): Buffer => Buffer.from(`${toHex(Uint8Array.of(tid >> 8, tid & 0xff))}00000006110300000001`, 'hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('operator Modbus TCP endpoint under a client that does not read', () => {
  it('pipelined requests never read: the replies queued for the client stay bounded', async () => {
    // The client is socat -u with a small receive buffer: it sends what we give it and never reads,
    // so the kernel holds little of the replies and what the endpoint queues itself shows at once.
    const { ep, port } = await listen(async () => ({ pdu: Uint8Array.of(3, 250, ...new Uint8Array(250)) }));
    const socat = spawn('socat', ['-u', 'STDIN', `TCP:127.0.0.1:${port},rcvbuf=4096`], { stdio: ['pipe', 'ignore', 'ignore'] });
    children.push(socat);
    socat.stdin.on('error', () => {});
    const batch = Buffer.concat(Array.from({ length: 1000 }, (_, i) => request(i)));
    let peak = 0;
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      // socat's pipe full means the endpoint stopped reading it: wait (bounded), then look again.
      if (!socat.stdin.write(batch)) await Promise.race([new Promise((r) => socat.stdin.once('drain', r)), sleep(50)]);
      for (const s of (ep as unknown as { sockets: Set<Socket> }).sockets) peak = Math.max(peak, s.writableLength);
    }
    // Before the fix: MB within seconds, growing without bound (a busy answer to every buffered request, written unchecked).
    expect(ep.stats.requests).toBeGreaterThan(10_000);
    expect(peak).toBeLessThan(256 * 1024);
  }, 30_000);

  it('stopped past the mark, the endpoint answers every request once the client reads, none lost or twice', async () => {
    const { port } = await listen(async () => ({ pdu: Uint8Array.of(3, 250, ...new Uint8Array(250)) }));
    const s = connect({ host: '127.0.0.1', port });
    sockets.push(s);
    await new Promise((r) => s.once('connect', r));
    s.pause();
    const sent = 200_000;
    s.write(Buffer.concat(Array.from({ length: sent }, (_, i) => request(i & 0xffff))));
    await sleep(500);
    let answered = 0;
    const parser = new MbapParser({ frame: () => void answered++, desync: () => expect.fail('reply stream out of step') });
    s.on('data', (d: Buffer) => parser.push(d));
    s.resume();
    const deadline = Date.now() + 20_000;
    while (answered < sent && Date.now() < deadline) await sleep(20);
    await sleep(100);
    expect(answered).toBe(sent);
  }, 30_000);

  it('a full forwarding channel (BUFFER_FULL) is answered 0x06 busy, not 0x0A path unavailable', async () => {
    const { s } = await open(async () => {
      throw new StateError(CommonCode.BUFFER_FULL, '256 requests already pending');
    });
    const got = new Promise<Buffer>((r) => s.once('data', r));
    s.write(request(7));
    // tid 7, length 3, unit 0x11, exception to function 3: 0x83 0x06.
    expect(toHex(await got)).toBe('000700000003118306');
  });
});
