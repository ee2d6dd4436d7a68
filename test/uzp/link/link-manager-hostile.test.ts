// LinkManager against an RN (a minimal one on 127.0.0.1, built from the project's own attach and
// frame code) that sends a second frame in the same write as OK. The attach resolves and the rest
// of that read runs at once, before the manager resumes and listens: a frame that ends the link,
// or a DRAIN, was unheard. Before, a responder manager then called accept() on the closed link and
// threw out of its async connect (an unhandled rejection: the gateway ended), and an initiator kept
// the dead link as current for good; a DRAIN that came with OK was lost. And the reason reported
// for such a link is the frame's own error, not a bare "closed as it attached".
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AttachResponder, CONTROL_AD } from '../../../src/uzp/link/attach.js';
import { ErrorCode } from '../../../src/uzp/errors.js';
import type { CodedError } from '../../../src/lib/errors.js';
import { ControlKind, FrameType } from '../../../src/uzp/link/constants.js';
import { encodeControl, type ControlMessage } from '../../../src/uzp/link/control.js';
import { encodeFrame, FrameDecoder } from '../../../src/uzp/link/frame.js';
import { LinkManager } from '../../../src/uzp/link/link-manager.js';
import { encodeRefused } from '../../../src/uzp/link/messages.js';
import { TestDomain } from '../../helpers/domain.js';
import { until } from './wait.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An RN that attaches EPs (full attachment; a 1-RTT HELLO is refused) and writes OK together with `after(control, ok)`. */
async function rn(d: TestDomain, after: (control: (m: ControlMessage) => Uint8Array, ok: Uint8Array) => Uint8Array): Promise<{ address: string; attaches: () => number; member: ReturnType<TestDomain['member']> }> {
  const member = d.member('rn');
  let attaches = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => {});
    const dec = new FrameDecoder(1 << 20);
    const res = new AttachResponder({ trust: d.trust(), signer: member.id.signer, maxFrame: 256 * 1024, keepaliveMs: 10_000 });
    sock.on('data', (chunk: Buffer) => {
      for (const f of dec.push(new Uint8Array(chunk))) {
        if (f.type === FrameType.HELLO && f.payload[0] === 2) sock.write(encodeFrame(FrameType.REFUSED, encodeRefused(3)));
        else if (f.type === FrameType.HELLO) sock.write(encodeFrame(FrameType.HELLO_R, res.onHello(f.payload)));
        else if (f.type === FrameType.AUTH) {
          const { ok, result } = res.onAuth(f.payload);
          attaches++;
          const control = (m: ControlMessage): Uint8Array => encodeFrame(FrameType.CONTROL, result.channel.send.seal(encodeControl(m), CONTROL_AD));
          const okFrame = encodeFrame(FrameType.OK, ok);
          sock.write(Buffer.concat([okFrame, after(control, okFrame)]));
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => (sockets.forEach((s) => s.destroy()), server.close(() => r()))));
  const a = server.address() as { port: number };
  return { address: `127.0.0.1:${a.port}`, attaches: () => attaches, member };
}

function manager(d: TestDomain, r: Awaited<ReturnType<typeof rn>>, accept: boolean): LinkManager {
  const gw = d.member('gateway');
  const trust = d.trust();
  trust.setRnSet(d.rnSet([{ id: r.member.id, addresses: [r.address] }]));
  const m = new LinkManager({ trust, identity: { seed: gw.id.seed, pcert: gw.pcert }, accept, backoffBaseMs: 20, backoffCapMs: 50 });
  cleanups.push(() => m.stop());
  return m;
}

describe('LinkManager: a second frame in the same write as OK', () => {
  for (const accept of [true, false]) {
    it(`${accept ? 'responder' : 'initiator'}: a frame that ends the link is not taken for a live link; the manager attaches again`, async () => {
      const d = new TestDomain();
      const r = await rn(d, () => encodeFrame(0x77, new Uint8Array(1))); // an unknown frame type: the EP closes the link
      const m = manager(d, r, accept);
      m.start();
      await until(() => r.attaches() >= 3);
      // Never a dead link held as current (before: attaches stayed 1 for an initiator, the responder process died).
      expect(m.link === null || m.link.attached).toBe(true);
    });
  }

  it('a DRAIN that came with OK: the manager leaves that link and attaches again', async () => {
    const d = new TestDomain();
    const r = await rn(d, (control) => control({ kind: ControlKind.DRAIN, deadlineMs: 1_000 }));
    const m = manager(d, r, true);
    m.start();
    await until(() => r.attaches() >= 2);
    expect(m.link === null || !m.link.draining || !m.link.attached).toBe(true);
  });

  // Before: both reported LINK_CLOSED "RN link … closed as it attached", the cause lost.
  const causes: [string, (ok: Uint8Array) => Uint8Array, string][] = [
    ['a frame over max_frame', () => Uint8Array.of(0xff, 0xff, 0xff, 0xff, FrameType.RELAY), ErrorCode.LINK_FRAME_TOO_LARGE],
    ['a second OK', (ok) => ok, ErrorCode.HANDSHAKE_UNEXPECTED],
  ];
  for (const [what, frame, code] of causes) {
    it(`${what} in the same read as OK: the link's own error is reported (${code})`, async () => {
      const d = new TestDomain();
      const r = await rn(d, (_control, ok) => frame(ok));
      const m = manager(d, r, false);
      const downs: (CodedError | undefined)[] = [];
      m.on('down', (e) => downs.push(e));
      m.start();
      await until(() => downs.length >= 1);
      expect(downs[0]?.code).toBe(code);
    });
  }
});
