// RnLink liveness counts whole frames (docs/PROFILE.md §Liveness), against an RN on 127.0.0.1 built
// from the pure AttachResponder, on a fake clock. Before, every read reset the idle timer: an RN
// that sent a frame header and then a byte every 5 s, never answering a PING, kept the link
// "attached" for good (reviewer's slowloris-attached). A large frame that arrives slowly but
// steadily is still a live link: on one TCP stream nothing else (no PONG) can arrive before it ends.

import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/uzp/errors.js';
import type { CodedError } from '../../../src/lib/errors.js';
import { AttachResponder } from '../../../src/uzp/link/attach.js';
import { FrameType, LINK_MIN_BYTES_PER_S } from '../../../src/uzp/link/constants.js';
import { FrameDecoder, encodeFrame } from '../../../src/uzp/link/frame.js';
import { RnLink } from '../../../src/uzp/link/rn-link.js';
import { TestDomain } from '../../helpers/domain.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { until } from './wait.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An RN that attaches one EP (keepalive 10 s: idle 30 s), then answers nothing; the test writes to it. */
async function rn(d: TestDomain): Promise<{ link: RnLink; clock: FakeClock; send: (b: Uint8Array) => Promise<void> }> {
  const id = d.member('rn').id;
  const rnTrust = d.trust();
  let sock: Socket | undefined;
  let written = 0;
  const server: Server = createServer((s) => {
    sock = s;
    s.on('error', () => {});
    const dec = new FrameDecoder(1 << 20);
    const res = new AttachResponder({ trust: rnTrust, signer: id.signer, maxFrame: 256 * 1024, keepaliveMs: 10_000 });
    const write = (b: Uint8Array): void => void ((written += b.length), s.write(b));
    s.on('data', (c: Buffer) => {
      for (const f of dec.push(new Uint8Array(c))) {
        if (f.type === FrameType.HELLO) write(encodeFrame(FrameType.HELLO_R, res.onHello(f.payload)));
        else if (f.type === FrameType.AUTH) write(encodeFrame(FrameType.OK, res.onAuth(f.payload).ok));
        // PINGs and the rest: never answered
      }
    });
  });
  await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, () => r()));
  cleanups.push(() => new Promise<void>((r) => (sock?.destroy(), server.close(() => r()))));
  const address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  const gw = d.member('gateway');
  const trust = d.trust();
  trust.setRnSet(d.rnSet([{ id, addresses: [address] }]));
  const clock = new FakeClock();
  const link = await RnLink.attach({ address, trust, identity: { seed: gw.id.seed, pcert: gw.pcert }, clock, oneRtt: false });
  cleanups.push(() => link.close());
  // Read by the EP: its socket counted every byte the RN wrote (its read callback has run by then).
  const socket = (link as unknown as { conn: { socket: Socket } }).conn.socket;
  const send = async (b: Uint8Array): Promise<void> => {
    sock!.write(b);
    written += b.length;
    await until(() => socket.bytesRead === written || !link.attached, 'the EP read what the RN sent');
  };
  return { link, clock, send };
}

/** A RELAY frame header (length, type) and its stitch id, for a payload of `n` bytes. */
function relayHead(n: number): Uint8Array {
  const len = 1 + 4 + n;
  return Uint8Array.of(len >>> 24, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff, FrameType.RELAY, 0, 0, 0, 9);
}

describe('RnLink liveness: whole frames, not bytes', () => {
  it('a frame header and then a byte every 5 s, PINGs unanswered: the link is dead after the idle timeout', async () => {
    const d = new TestDomain();
    const { link, clock, send } = await rn(d);
    let closed: CodedError | undefined;
    let closedAt = 0;
    const t0 = clock.now();
    link.once('close', (e) => ((closed = e), (closedAt = clock.now() - t0)));
    await send(relayHead(200));
    for (let i = 0; i < 10 && link.attached; i++) {
      clock.advance(5_000);
      if (link.attached) await send(Uint8Array.of(1));
    }
    // Before: still attached after 50 s, every byte taken for a sign of life.
    expect(link.attached).toBe(false);
    expect(closed?.code).toBe(ErrorCode.LINK_TIMEOUT);
    expect(closedAt).toBe(30_000);
    expect(link.stats.pingsSent).toBe(2); // at 10 s and 20 s, never answered
  });

  it(`a large frame arriving at ${2 * LINK_MIN_BYTES_PER_S} B/s is not cut, and then counts as a frame`, async () => {
    const d = new TestDomain();
    const { link, clock, send } = await rn(d);
    const payload = 200 * 1024;
    await send(relayHead(payload));
    let left = payload;
    const step = 10 * LINK_MIN_BYTES_PER_S; // every 5 s: twice the minimum rate
    while (left > 0) {
      clock.advance(5_000);
      const n = Math.min(step, left);
      await send(new Uint8Array(n));
      left -= n;
    }
    // 100 s for one frame, with no other frame possible meanwhile: still attached.
    expect(link.attached).toBe(true);
    expect(link.stats.relayIn).toBe(1);
    clock.advance(29_999);
    expect(link.attached).toBe(true);
    clock.advance(20_001); // nothing after it: dead at the next tick past 30 s without a frame
    expect(link.attached).toBe(false);
  });
});
