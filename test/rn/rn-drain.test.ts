// RendezvousNode.drain() in-process (draft §11.2 maintenance signalling): DRAIN reaches every
// attached RnLink sealed on its control channel, stitches keep relaying, new JOINs are refused with
// JOIN_REFUSED 3, new connections are not accepted, and the drain ends when the links have left or
// at the deadline (fake clock). The same through `uzpgw rn` and SIGTERM: rn-drain-process.test.ts.

import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RendezvousNodeOptions } from '../../src/rn/server.js';
import { ErrorCode } from '../../src/uzp/errors.js';
import { parseAddress } from '../../src/uzp/link/address.js';
import { RnLink, type Offer } from '../../src/uzp/link/rn-link.js';
import type { Stitch } from '../../src/uzp/link/stitch.js';
import type { CodedError } from '../../src/lib/errors.js';
import type { Member } from '../helpers/domain.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { once, until } from '../uzp/link/wait.js';
import { attachTo, startInProcessRn, type InProcessRn } from '../helpers/inprocess-rn.js';
import { NatsCluster } from '../helpers/nats-cluster.js';

type Env = InProcessRn;

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function startRn(opts: Partial<RendezvousNodeOptions> = {}): Promise<Env> {
  return startInProcessRn(cleanups, opts);
}

function attach(env: Env, m: Member): Promise<RnLink> {
  return attachTo(env, m, cleanups);
}

/** A gateway link that accepts and an operator link stitched to it. */
async function stitched(env: Env): Promise<{ gw: Member; op: Member; gwLink: RnLink; opLink: RnLink; initiator: Stitch; responder: Stitch }> {
  const gw = env.d.member('gateway');
  const op = env.d.member('operator');
  const gwLink = await attach(env, gw);
  const opLink = await attach(env, op);
  const offered = once<Offer>((cb) => gwLink.once('offer', cb));
  gwLink.accept();
  let initiator: Stitch | undefined;
  while (initiator === undefined) {
    try {
      initiator = await opLink.join(gw.id.cid, env.d.grant(op.id.cid, gw.id.cid), Uint8Array.of(1));
    } catch (e) {
      if ((e as CodedError).code !== ErrorCode.PEER_NOT_ATTACHED) throw e; // ACCEPT not seen yet
    }
  }
  return { gw, op, gwLink, opLink, initiator, responder: (await offered).accept() };
}

describe('RN drain (in-process)', () => {
  it('DRAIN reaches every link with the deadline; stitches relay, JOINs are refused, nothing new is accepted; ends when all left', async () => {
    const env = await startRn();
    const { gw, op, gwLink, opLink, initiator, responder } = await stitched(env);
    const drains = [once<number>((cb) => gwLink.once('drain', cb)), once<number>((cb) => opLink.once('drain', cb))];
    const result = env.rn.drain(120_000);
    expect(env.rn.draining).toBe(true);
    expect(await Promise.all(drains)).toEqual([120_000, 120_000]);

    // The stitch still relays both ways.
    const atGw: number[] = [];
    const atOp: number[] = [];
    responder.onPayload((p) => atGw.push(p[0]!));
    initiator.onPayload((p) => atOp.push(p[0]!));
    initiator.send(Uint8Array.of(7));
    responder.send(Uint8Array.of(8));
    await until(() => atGw.length === 1 && atOp.length === 1);
    expect([atGw, atOp]).toEqual([[7], [8]]);

    // A new JOIN: JOIN_REFUSED 3 (overloaded), which the EP reports as JOIN_REFUSED.
    const e = await opLink.join(gw.id.cid, env.d.grant(op.id.cid, gw.id.cid), Uint8Array.of(2)).catch((x: CodedError) => x);
    expect((e as CodedError).code).toBe(ErrorCode.JOIN_REFUSED);
    expect(env.rn.stats.joinsRefusedDraining).toBe(1);

    // The listener is closed: a new connection is refused by the kernel.
    const { host, port } = parseAddress(env.address);
    const refused = await new Promise<string>((resolve) => {
      const s = connect({ host, port });
      s.on('connect', () => (s.destroy(), resolve('connected')));
      s.on('error', (x: NodeJS.ErrnoException) => resolve(x.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');

    // The EPs leave (a LinkManager would move to another RN first): the drain ends at once.
    gwLink.close();
    opLink.close();
    expect(await result).toEqual({ detached: true, remaining: 0 });
    expect(env.rn.stats.closed.drained).toBe(0);
  });

  it('links still attached at the deadline are closed, counted as drained (fake clock)', async () => {
    const clock = new FakeClock();
    const env = await startRn({ clock });
    const link = await attach(env, env.d.member('gateway'));
    const drained = once<number>((cb) => link.once('drain', cb));
    const closed = once<CodedError | undefined>((cb) => link.once('close', cb));
    const result = env.rn.drain(5_000);
    expect(await drained).toBe(5_000);
    clock.advance(4_999);
    expect(env.rn.stats.links).toBe(1); // still served inside the deadline
    clock.advance(1);
    expect(await result).toEqual({ detached: false, remaining: 1 });
    expect((await closed)?.code).toBe(ErrorCode.LINK_CLOSED);
    expect(env.rn.stats.closed.drained).toBe(1);
  });

  it('close() during a drain ends it at once (a second signal), not reported as the links having left', async () => {
    const env = await startRn();
    const link = await attach(env, env.d.member('gateway'));
    const drained = once<number>((cb) => link.once('drain', cb));
    const result = env.rn.drain(600_000);
    await drained;
    expect(env.rn.drain(1)).toBe(result); // idempotent: one drain
    await env.rn.close();
    expect(await result).toEqual({ detached: false, remaining: 0 });
  });

  it('pre-auth connections are closed when the drain starts; with no link attached it ends at once', async () => {
    const env = await startRn();
    const { host, port } = parseAddress(env.address);
    const s = connect({ host, port });
    s.on('error', () => {});
    const closed = once<void>((cb) => s.on('close', () => cb()));
    await until(() => env.rn.stats.preauth === 1);
    expect(await env.rn.drain(600_000)).toEqual({ detached: true, remaining: 0 });
    await closed;
    expect(env.rn.stats.preauth).toBe(0);
  });

  it('a fabric that failed to start does not fail the drain (real nats-server): it ends, nothing unhandled', async () => {
    const nats = await NatsCluster.start(1);
    cleanups.push(() => nats.stop());
    const env = await startRn();
    // A domain NATS will not take as a subject: the fabric connects, then its first subscription throws.
    await expect(env.rn.joinFabric({ servers: [nats.nodes[0]!.url], domain: 'no spaces allowed' })).rejects.toThrow();
    // Before: drain() chained on the failed start and rejected, unheard (an unhandled rejection
    // vitest reports), and `uzpgw rn` never got to exit on SIGTERM.
    expect(await env.rn.drain(1_000)).toEqual({ detached: true, remaining: 0 });
  });
});

