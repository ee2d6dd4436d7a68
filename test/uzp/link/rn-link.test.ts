// RnLink (EP side) against the real RN and against a minimal "silent" RN written here from the
// pure AttachResponder, so timeouts and keepalive can be driven with a fake clock.

import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RendezvousNode } from '../../../src/rn/server.js';
import { ErrorCode } from '../../../src/uzp/errors.js';
import { AttachResponder } from '../../../src/uzp/link/attach.js';
import { FrameType, RefusedCode } from '../../../src/uzp/link/constants.js';
import { FrameDecoder, encodeFrame } from '../../../src/uzp/link/frame.js';
import { encodeRefused } from '../../../src/uzp/link/messages.js';
import { RnLink } from '../../../src/uzp/link/rn-link.js';
import type { Identity } from '../../../src/uzp/identity/identity.js';
import { TestDomain } from '../../helpers/domain.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { once, until } from './wait.js';
import { errorOf } from '../../helpers/errors.js';
import { CodedError, LocalError } from '../../../src/lib/errors.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A server that attaches EPs properly and then, depending on mode, ignores them or refuses. */
async function fakeRn(d: TestDomain, mode: 'silent-after-ok' | 'mute' | 'refuse'): Promise<{ address: string; id: Identity; sockets: Socket[] }> {
  const id = d.member('rn').id;
  const trust = d.trust();
  const sockets: Socket[] = [];
  const server: Server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    if (mode === 'mute') return;
    const dec = new FrameDecoder(1 << 20);
    const res = new AttachResponder({ trust, signer: id.signer, maxFrame: 65536, keepaliveMs: 10_000 });
    s.on('data', (c: Buffer) => {
      for (const f of dec.push(c)) {
        if (mode === 'refuse') s.write(encodeFrame(FrameType.REFUSED, encodeRefused(RefusedCode.REFUSED)));
        else if (f.type === FrameType.HELLO) s.write(encodeFrame(FrameType.HELLO_R, res.onHello(f.payload)));
        else if (f.type === FrameType.AUTH) s.write(encodeFrame(FrameType.OK, res.onAuth(f.payload).ok));
        // anything after OK: ignored (no PONG, no JOINED)
      }
    });
  });
  await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, () => r()));
  const a = server.address() as { port: number };
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        sockets.forEach((s) => s.destroy());
        server.close(() => r());
      }),
  );
  return { address: `127.0.0.1:${a.port}`, id, sockets };
}

function linkOpts(d: TestDomain, rn: { address: string; id: Identity }, extra: Partial<Parameters<typeof RnLink.attach>[0]> = {}) {
  const m = d.member('gateway');
  const trust = d.trust();
  trust.setRnSet(d.rnSet([{ id: rn.id, addresses: [rn.address] }]));
  return { address: rn.address, trust, identity: { seed: m.id.seed, pcert: m.pcert }, ...extra };
}

/** A real RN on a free loopback port, closed after the test. */
async function realRn(d: TestDomain): Promise<{ address: string; id: Identity }> {
  const id = d.member('rn').id;
  const rn = new RendezvousNode({ trust: d.trust(), seed: id.seed });
  const address = await rn.listen('127.0.0.1', 0);
  cleanups.push(() => rn.close());
  return { address, id };
}

async function attach(opts: Parameters<typeof RnLink.attach>[0]): Promise<RnLink> {
  const l = await RnLink.attach(opts);
  cleanups.push(() => l.close());
  return l;
}

describe('RnLink', () => {

  it('keepalive: PINGs on the announced interval keep the link; silence for the idle timeout kills it', async () => {
    const d = new TestDomain();
    const { address, id: rnId } = await realRn(d);
    const clock = new FakeClock();
    const link = await attach(linkOpts(d, { address, id: rnId }, { clock }));
    for (let i = 1; i <= 5; i++) {
      clock.advance(10_000);
      expect(link.stats.pingsSent).toBe(i);
      await until(() => link.stats.pongsReceived === i); // the real RN answers each PING
    }
    expect(link.attached).toBe(true);
    // Now nothing arrives while 30 s pass: the link declares itself dead.
    const closed = once<CodedError | undefined>((cb) => link.once('close', cb));
    clock.advance(40_000);
    expect((await closed)?.code).toBe(ErrorCode.LINK_TIMEOUT);
    expect(link.attached).toBe(false);
  });

  it('imports the identity key once per seed, not at every attachment', async () => {
    const d = new TestDomain();
    const { address, id: rnId } = await realRn(d);
    const opts = linkOpts(d, { address, id: rnId });
    const signer = vi.spyOn(opts.trust.provider, 'signer');
    cleanups.push(() => signer.mockRestore());
    const links = [await attach(opts), await attach(opts), await attach({ ...opts })];
    expect(links.every((l) => l.attached)).toBe(true);
    expect(signer).toHaveBeenCalledTimes(1); // the same seed: one import for every link
    const other = await attach({ ...opts, identity: { ...opts.identity, seed: opts.identity.seed.slice() } });
    expect(signer).toHaveBeenCalledTimes(2); // another seed array (the same key): its own import
    expect(other.cid).toEqual(links[0]!.cid);
  });

  it('an RN that stops answering is detected after the idle timeout', async () => {
    const d = new TestDomain();
    const rn = await fakeRn(d, 'silent-after-ok');
    const clock = new FakeClock();
    const link = await attach(linkOpts(d, rn, { clock, keepaliveMs: 5_000, idleTimeoutMs: 15_000 }));
    const closed = once<CodedError | undefined>((cb) => link.once('close', cb));
    clock.advance(10_000);
    expect(link.attached).toBe(true);
    clock.advance(5_000);
    expect((await closed)?.code).toBe(ErrorCode.LINK_TIMEOUT);
  });

  it('join() times out when the RN never answers, and honours an AbortSignal', async () => {
    const d = new TestDomain();
    const rn = await fakeRn(d, 'silent-after-ok');
    const clock = new FakeClock();
    const link = await attach(linkOpts(d, rn, { clock, joinTimeoutMs: 3_000 }));
    const target = d.member('gateway').id.cid;
    const p = link.join(target, new Uint8Array(10), new Uint8Array(0));
    clock.advance(3_000);
    expect((await errorOf(p)).code).toBe(ErrorCode.LINK_TIMEOUT);
    const ac = new AbortController();
    const p2 = link.join(target, new Uint8Array(10), new Uint8Array(0), ac.signal);
    ac.abort();
    expect((await errorOf(p2)).code).toBe(ErrorCode.LINK_CLOSED);
    const p3 = link.join(target, new Uint8Array(10), new Uint8Array(0));
    link.close();
    expect((await errorOf(p3)).code).toBe(ErrorCode.LINK_CLOSED);
  });

  it('attach times out against an RN that accepts TCP but never speaks', async () => {
    const d = new TestDomain();
    const rn = await fakeRn(d, 'mute');
    const clock = new FakeClock();
    const p = RnLink.attach(linkOpts(d, rn, { clock, timeoutMs: 2_000 }));
    await until(() => rn.sockets.length === 1);
    clock.advance(2_000);
    expect((await errorOf(p)).code).toBe(ErrorCode.LINK_TIMEOUT);
  });

  it('attach honours an AbortSignal, before and during the attempt', async () => {
    const d = new TestDomain();
    const rn = await fakeRn(d, 'mute');
    const ac = new AbortController();
    ac.abort();
    expect((await errorOf(RnLink.attach(linkOpts(d, rn, { signal: ac.signal })))).code).toBe(ErrorCode.LINK_CLOSED);
    const ac2 = new AbortController();
    const p = RnLink.attach(linkOpts(d, rn, { signal: ac2.signal }));
    await until(() => rn.sockets.length >= 1);
    ac2.abort();
    expect((await errorOf(p)).code).toBe(ErrorCode.LINK_CLOSED);
  });

  it('REFUSED from the RN rejects with ATTACH_REFUSED; nothing listening rejects with LINK_CLOSED', async () => {
    const d = new TestDomain();
    const rn = await fakeRn(d, 'refuse');
    expect((await errorOf(RnLink.attach(linkOpts(d, rn)))).code).toBe(ErrorCode.ATTACH_REFUSED);
    const s = createServer();
    await new Promise<void>((r) => s.listen({ host: '127.0.0.1', port: 0 }, () => r()));
    const port = (s.address() as { port: number }).port;
    await new Promise<void>((r) => s.close(() => r()));
    expect((await errorOf(RnLink.attach(linkOpts(d, { ...rn, address: `127.0.0.1:${port}` })))).code).toBe(ErrorCode.LINK_CLOSED);
  });

  it('a malformed address or PCert is a local error, raised as a rejection', async () => {
    const d = new TestDomain();
    const rn = await fakeRn(d, 'mute');
    await expect(RnLink.attach(linkOpts(d, rn, { address: 'no-port' }))).rejects.toBeInstanceOf(LocalError);
    const o = linkOpts(d, rn);
    await expect(RnLink.attach({ ...o, identity: { seed: o.identity.seed, pcert: Uint8Array.of(1, 2, 3) } })).rejects.toBeInstanceOf(CodedError);
  });

  it('accept() and join() before attachment or after close are refused locally', async () => {
    const d = new TestDomain();
    const rn = await fakeRn(d, 'silent-after-ok');
    const link = await attach(linkOpts(d, rn));
    link.close();
    expect(() => link.accept()).toThrow(expect.objectContaining({ code: ErrorCode.LINK_CLOSED }));
    expect((await errorOf(link.join(new Uint8Array(32), new Uint8Array(1), new Uint8Array(0)))).code).toBe(ErrorCode.LINK_CLOSED);
  });
});
