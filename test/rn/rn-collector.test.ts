// A collector (PCert role "collector", the OI draft's Indexer, §7.1) takes the responder role at an
// RN like a gateway: its ACCEPT is honoured, and a gateway that publishes (OI §11.1: the Publisher
// initiates) JOINs it with a Pantheon Grant subject=gateway, audience=collector, telemetry.publish.
// Attestation stays a gateway rule: an RN that requires it does not hold a collector's ACCEPT.

import { afterEach, describe, expect, it } from 'vitest';
import type { RendezvousNodeOptions } from '../../src/rn/server.js';
import { toHex } from '../../src/uzp/bytes.js';
import { ErrorCode } from '../../src/uzp/errors.js';
import { ControlKind } from '../../src/uzp/link/constants.js';
import { RnLink, type Offer } from '../../src/uzp/link/rn-link.js';
import type { Stitch } from '../../src/uzp/link/stitch.js';
import type { Member } from '../helpers/domain.js';
import { startInProcessRn, type InProcessRn } from '../helpers/inprocess-rn.js';
import { once, until } from '../uzp/link/wait.js';
import { RawClient } from './raw-client.js';
import type { CodedError } from '../../src/lib/errors.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function attach(env: InProcessRn, m: Member): Promise<RnLink> {
  const link = await RnLink.attach({ address: env.address, trust: env.trust, identity: { seed: m.id.seed, pcert: m.pcert } });
  cleanups.push(() => link.close());
  return link;
}

/** The Pantheon Grant a gateway publishes under (pantheon grant --purpose telemetry.publish --slot '*'). */
function publishGrant(env: InProcessRn, gw: Member, col: Member): Uint8Array {
  return env.d.grant(gw.id.cid, col.id.cid, { scopes: [{ slot: '*', purposes: [{ purpose: 'telemetry.publish' }] }] });
}

/** JOIN, retried (for up to 5 s) while the RN has not yet seen the responder's ACCEPT (they travel on two links). */
async function joinWhenAccepting(link: RnLink, target: Uint8Array, grant: Uint8Array): Promise<Stitch> {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      return await link.join(target, grant, Uint8Array.of(0x01));
    } catch (e) {
      if ((e as CodedError).code !== ErrorCode.PEER_NOT_ATTACHED || Date.now() > deadline) throw e;
    }
  }
}

async function publishThrough(opts: Partial<RendezvousNodeOptions> = {}): Promise<void> {
  const env = await startInProcessRn(cleanups, opts);
  const gw = env.d.member('gateway');
  const col = env.d.member('collector');
  const colLink = await attach(env, col);
  const gwLink = await attach(env, gw);
  const offered = once<Offer>((cb) => colLink.once('offer', cb));
  colLink.accept();
  const grant = publishGrant(env, gw, col);
  const initiator = await joinWhenAccepting(gwLink, col.id.cid, grant);
  const offer = await offered;
  expect(toHex(offer.initiator)).toBe(toHex(gw.id.cid));
  expect(offer.grant).toEqual(grant);
  const responder = offer.accept();
  const got: Uint8Array[] = [];
  responder.onPayload((p) => got.push(p));
  const back: Uint8Array[] = [];
  initiator.onPayload((p) => back.push(p));
  initiator.send(Uint8Array.of(7, 7));
  responder.send(Uint8Array.of(9));
  await until(() => got.length === 1 && back.length === 1, 'payload both ways');
  expect([got[0], back[0]]).toEqual([Uint8Array.of(7, 7), Uint8Array.of(9)]);
}

describe('RN: collector links take the responder role', () => {
  it('a collector ACCEPTs; a gateway JOINs it with a telemetry.publish Grant; payload flows both ways', async () => {
    await publishThrough();
  });

  it('with requireAttestation, a collector is reachable without ATTEST (attestation is a gateway rule)', async () => {
    await publishThrough({ requireAttestation: true });
  });

  it('a collector link that sends ACCEPT stays attached; an operator link that does is still closed', async () => {
    const env = await startInProcessRn(cleanups);
    const col = await RawClient.attach(env.address, env.trust, env.d.member('collector'));
    cleanups.push(() => col.close());
    col.sendControl({ kind: ControlKind.ACCEPT });
    col.sendControl({ kind: ControlKind.PING, nonce: 5 });
    expect((await col.control(ControlKind.PONG)).nonce).toBe(5); // answered after the ACCEPT: still attached
    expect(col.closed).toBe(false);
    const op = await RawClient.attach(env.address, env.trust, env.d.member('operator'));
    cleanups.push(() => op.close());
    op.sendControl({ kind: ControlKind.ACCEPT });
    await op.whenClosed();
    expect(op.closed).toBe(true);
  });

  it('a Grant naming the collector as audience but another subject is refused at JOIN', async () => {
    const env = await startInProcessRn(cleanups);
    const gw = env.d.member('gateway');
    const col = env.d.member('collector');
    const colLink = await attach(env, col);
    const gwLink = await attach(env, gw);
    colLink.accept();
    const other = env.d.member('gateway');
    await until(() => env.rn.stats.links === 2);
    const e = await joinWhenAccepting(gwLink, col.id.cid, publishGrant(env, other, col)).then(
      () => undefined,
      (x: CodedError) => x,
    );
    expect(e?.code).toBe(ErrorCode.GRANT_AUDIENCE); // GRANT_PARTIES: not issued for this initiator and target
  });
});
