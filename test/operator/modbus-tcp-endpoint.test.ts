// The operator's local Modbus TCP endpoint on its own, over real loopback sockets, with a fake
// forward in place of the HIL session: MBAP vectors in and out, requests split and packed across
// TCP chunks, the refusals it answers itself (0x06 pipeline full, 0x0A path failed), replies it
// cannot relay, streams it must drop, and junk streams checked against a whole-buffer model.

import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ModbusTcpEndpoint, type ModbusForward } from '../../src/operator/modbus-tcp.js';
import { MbapParser, type MbapFrame } from '../../src/ports/modbus/mbap.js';
import { fromHex, toHex } from '../../src/uzp/bytes.js';

const endpoints: ModbusTcpEndpoint[] = [];
afterEach(async () => {
  for (const ep of endpoints.splice(0)) await ep.close();
});

async function listen(forward: ModbusForward): Promise<{ ep: ModbusTcpEndpoint; port: number }> {
  const ep = new ModbusTcpEndpoint(forward);
  endpoints.push(ep);
  const address = await ep.listen('127.0.0.1', 0);
  return { ep, port: Number(address.split(':')[1]) };
}

/** A raw TCP client that collects every byte the endpoint sends and notices when it closes. */
class Client {
  private received: number[] = [];
  private wake: () => void = () => {};
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => (this.received.push(...d), this.wake()));
    socket.on('error', () => {}); // a reset after the endpoint dropped us is expected
    this.closed = new Promise((r) => socket.once('close', () => r()));
  }

  static async open(port: number): Promise<Client> {
    const s = connect({ host: '127.0.0.1', port, noDelay: true });
    await new Promise<void>((r) => s.once('connect', () => r()));
    return new Client(s);
  }

  /** Resolves with the first `n` bytes received (hex) once they are there. */
  async read(n: number): Promise<string> {
    while (this.received.length < n) await new Promise<void>((r) => (this.wake = r));
    return toHex(Uint8Array.from(this.received.splice(0, n)));
  }

  /** Everything received until the endpoint closed the connection. */
  async rest(): Promise<Uint8Array> {
    await this.closed;
    return Uint8Array.from(this.received.splice(0));
  }
}

/** Answers Read Holding Registers with one register holding the unit id; echoes anything else. */
const readUnit: ModbusForward = async (unit, pdu) => ({ pdu: pdu[0] === 3 ? Uint8Array.of(3, 2, 0, unit) : pdu });

describe('operator Modbus TCP endpoint', () => {
  it('answers requests split across chunks and packed into one, under their transaction ids (vectors)', async () => {
    const { ep, port } = await listen(readUnit);
    const c = await Client.open(port);
    // Read 1 holding register at 0 from unit 0x11, transaction 1, sent one byte at a time.
    for (const b of fromHex('000100000006110300000001')) c.socket.write(Uint8Array.of(b));
    expect(await c.read(11)).toBe('00010000000511030200' + '11');
    // Two requests in one chunk: a read from unit 0x22 and Write Single Register 1 = 3 to unit 0xff.
    c.socket.write(fromHex('000200000006220300000001' + '123400000006ff0600010003'));
    expect(await c.read(11 + 12)).toBe('00020000000522030200' + '22' + '123400000006ff0600010003');
    expect(ep.stats).toMatchObject({ requests: 3, errors: 0, clients: 1 });
  });

  it('answers 0x0A when forwarding fails and 0x06 when a client has 32 requests pending', async () => {
    const held: (() => void)[] = [];
    const { ep, port } = await listen((unit, pdu) => (unit === 8 ? Promise.reject(new Error('session gone')) : new Promise((r) => held.push(() => r({ pdu })))));
    const c = await Client.open(port);
    c.socket.write(fromHex('000100000006080300000001'));
    expect(await c.read(9)).toBe('00010000000308830a');
    const pipeline = Array.from({ length: 33 }, (_, i) => `00${(0x10 + i).toString(16)}00000006090300000001`).join('');
    c.socket.write(fromHex(pipeline));
    // The 33rd request (transaction 0x30) is refused at once: server device busy.
    expect(await c.read(9)).toBe('003000000003098306');
    expect(held.length).toBe(32);
    held.forEach((release) => release());
    const echoes = await c.read(32 * 12);
    expect(echoes.slice(0, 24)).toBe('001000000006090300000001');
    expect(ep.stats).toMatchObject({ requests: 34, errors: 1 });
  });

  it('relays no answer for an empty reply (a broadcast) and 0x0A for a reply longer than a PDU', async () => {
    const { ep, port } = await listen(async (unit, pdu) => ({ pdu: unit === 0 ? new Uint8Array(0) : unit === 1 ? new Uint8Array(254).fill(3) : pdu }));
    const c = await Client.open(port);
    c.socket.write(fromHex('000100000006000600010003' + '000200000006010300000001' + '000300000006020300000001'));
    // Nothing for transaction 1; transaction 2 gets the exception; transaction 3 its echo.
    expect(await c.read(9 + 12)).toBe('00020000000301830a' + '000300000006020300000001');
    expect(ep.stats).toMatchObject({ requests: 3, errors: 1 });
  });

  it('drops the connection on a length field outside 2..254 or a protocol id other than 0, forwarding nothing', async () => {
    for (const stream of ['00010000000111', '0001000000ff11' + '00'.repeat(254), '000100010006110300000001' + '000200000006110300000001']) {
      let forwarded = 0;
      const { ep, port } = await listen(async (_u, pdu) => (forwarded++, { pdu }));
      const c = await Client.open(port);
      c.socket.write(fromHex(stream));
      expect((await c.rest()).length).toBe(0);
      expect(forwarded).toBe(0);
      expect(ep.stats).toMatchObject({ requests: 0, errors: 1 });
    }
  });

  it('junk and mutated streams: every reply is a well-formed ADU answering exactly the requests a whole-buffer model finds', async () => {
    const { port } = await listen(async (_u, pdu) => ({ pdu }));
    const frame = fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ minLength: 1, maxLength: 12 }));
    const encoded = ([tid, unit, pdu]: [number, number, Uint8Array]): number[] => [tid >> 8, tid & 0xff, 0, 0, 0, pdu.length + 1, unit, ...pdu];
    const stream = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.tuple(fc.array(frame, { minLength: 1, maxLength: 12 }), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([frames, at, x]) => {
        const b = Uint8Array.from(frames.flatMap(encoded));
        b[at % b.length]! ^= x;
        return b;
      }),
    );
    await fc.assert(
      fc.asyncProperty(stream, fc.integer({ min: 1, max: 40 }), async (bytes, chunk) => {
        const c = await Client.open(port);
        for (let off = 0; off < bytes.length; off += chunk) c.socket.write(bytes.subarray(off, off + chunk));
        c.socket.end();
        const replies: MbapFrame[] = [];
        let desync = 0;
        new MbapParser({ frame: (f) => replies.push(f), desync: () => desync++ }).push(await c.rest());
        expect(desync).toBe(0);
        const model = modelRequests(bytes);
        const expected = model.frames.map(show);
        // A dropped connection may take the answers to requests of its last chunk with it.
        if (model.dropped) expect(expected.slice(0, replies.length)).toEqual(replies.map(show));
        else expect(replies.map(show)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});

function show(f: MbapFrame): string {
  return `${f.transactionId}/${f.protocolId}/${f.unit}/${toHex(f.pdu)}`;
}

/**
 * The requests the endpoint must answer, found over the whole buffer at once (TCP/IP guide §3.1.3):
 * whole frames up to the first impossible length field or non-zero protocol id, where it drops the
 * connection.
 */
function modelRequests(b: Uint8Array): { frames: MbapFrame[]; dropped: boolean } {
  const frames: MbapFrame[] = [];
  for (let off = 0; b.length - off >= 6; ) {
    const len = (b[off + 4]! << 8) | b[off + 5]!;
    if (len < 2 || len > 254) return { frames, dropped: true };
    if (b.length - off < 6 + len) break;
    if (b[off + 2] !== 0 || b[off + 3] !== 0) return { frames, dropped: true };
    frames.push({ transactionId: (b[off]! << 8) | b[off + 1]!, protocolId: 0, unit: b[off + 6]!, pdu: b.slice(off + 7, off + 6 + len) });
    off += 6 + len;
  }
  return { frames, dropped: false };
}
