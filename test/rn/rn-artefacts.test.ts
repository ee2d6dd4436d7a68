// The RN as a carrier of artefacts (src/rn/artefacts.ts, CONTROL ARTEFACT, draft §11.1), in-process
// with real EP links on 127.0.0.1: what it holds goes to every link right after OK, a newer one it
// adopts goes to every attached link, an older or forged one never leaves it, and an EP may not
// send ARTEFACT to the RN (wrong direction: the link is closed).

import { afterEach, describe, expect, it } from 'vitest';
import { RnArtefacts } from '../../src/rn/artefacts.js';
import { RendezvousNode } from '../../src/rn/server.js';
import { decodeEnvelope } from '../../src/uzp/artefacts/envelope.js';
import type { TrustStore } from '../../src/uzp/artefacts/trust.js';
import { toHex } from '../../src/uzp/bytes.js';
import type { Identity } from '../../src/uzp/identity/identity.js';
import { ControlKind } from '../../src/uzp/link/constants.js';
import { RnLink } from '../../src/uzp/link/rn-link.js';
import { TestDomain } from '../helpers/domain.js';
import { until } from '../uzp/link/wait.js';
import { RawClient } from './raw-client.js';

interface Env {
  d: TestDomain;
  rnId: Identity;
  rnTrust: TrustStore;
  shelf: RnArtefacts;
  address: string;
  logged: string[];
}

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startRn(): Promise<Env> {
  const d = new TestDomain();
  const rnId = d.member('rn').id;
  const rnTrust = d.trust();
  const logged: string[] = [];
  const log = { debug() {}, info: (o: object) => logged.push((o as { event: string }).event), warn() {}, error() {} };
  const shelf = new RnArtefacts({ trust: rnTrust, log });
  const rn = new RendezvousNode({ trust: rnTrust, seed: rnId.seed, artefacts: shelf, log });
  const address = await rn.listen('127.0.0.1', 0);
  cleanups.push(() => rn.close());
  return { d, rnId, rnTrust, shelf, address, logged };
}

/** An EP link that records every artefact the RN offers (object_id hex). */
async function listen(env: Env, set: Uint8Array): Promise<{ link: RnLink; got: string[] }> {
  const trust = env.d.trust();
  trust.setRnSet(set);
  const m = env.d.member('gateway');
  const link = await RnLink.attach({ address: env.address, trust, identity: { seed: m.id.seed, pcert: m.pcert } });
  cleanups.push(() => link.close());
  const got: string[] = [];
  link.on('artefact', (b) => got.push(toHex(decodeEnvelope(env.d.provider, b).objectId)));
  return { link, got };
}

const idOf = (env: Env, b: Uint8Array): string => toHex(decodeEnvelope(env.d.provider, b).objectId);

describe('RN artefacts (CONTROL ARTEFACT)', () => {
  it('offers what it holds right after OK, newer ones to every attached link, never older or forged ones', async () => {
    const env = await startRn();
    const set1 = env.d.rnSet([{ id: env.rnId, addresses: [env.address] }]);
    const rev1 = env.d.revocation([]);
    env.shelf.offer('rn-set', set1);
    env.shelf.offer('revocation', rev1);
    const a = await listen(env, set1);
    await until(() => a.got.length === 2, 'held artefacts offered after OK');
    expect(a.got.sort()).toEqual([idOf(env, set1), idOf(env, rev1)].sort());

    const b = await listen(env, set1);
    await until(() => b.got.length === 2);
    const set2 = env.d.rnSet([{ id: env.rnId, addresses: [env.address] }]);
    expect(env.shelf.offer('rn-set', set2).outcome).toBe('adopted');
    await until(() => a.got.length === 3 && b.got.length === 3, 'the newer statement reaches every attached link');
    expect(a.got[2]).toBe(idOf(env, set2));
    expect(env.logged).toContain('artefact_offered');

    // Older, the same again, forged: adopted by nothing, sent to nobody.
    expect(env.shelf.offer('rn-set', set1).outcome).toBe('refused');
    expect(env.shelf.offer('rn-set', set2).outcome).toBe('unchanged');
    const forged = set2.slice();
    forged[forged.length - 3]! ^= 0x40;
    expect(env.shelf.offer('rn-set', forged).outcome).toBe('refused');
    // One more adoption afterwards is the first thing either link sees next: nothing slipped in between.
    const rev2 = env.d.revocation([env.d.member('operator').id.cid]);
    expect(env.shelf.offer('revocation', rev2).outcome).toBe('adopted');
    await until(() => a.got.length === 4 && b.got.length === 4);
    expect(a.got[3]).toBe(idOf(env, rev2));
    expect(b.got[3]).toBe(idOf(env, rev2));
  });

  it('does not offer what has expired', async () => {
    const env = await startRn();
    const set = env.d.rnSet([{ id: env.rnId, addresses: [env.address] }], { validSeconds: 3_600 });
    env.shelf.offer('rn-set', set);
    const revocation = env.d.revocation([]);
    env.d.advance(2 * 3_600); // the set is past exp + skew, the revocation list (24 h) is not
    env.shelf.offer('revocation', revocation);
    const fresh = env.d.rnSet([{ id: env.rnId, addresses: [env.address] }]);
    // The EP holds a current statement of its own; the RN still holds only the expired one.
    const a = await listen(env, fresh);
    await until(() => a.got.length === 1);
    await new Promise((r) => setImmediate(r));
    expect(a.got).toEqual([idOf(env, revocation)]);
  });

  it('asked again, the RN sends nothing more: one empty request cannot buy the held artefacts over and over', async () => {
    const env = await startRn();
    const set = env.d.rnSet([{ id: env.rnId, addresses: [env.address] }]);
    env.shelf.offer('rn-set', set);
    env.shelf.offer('revocation', env.d.revocation([]));
    const trust = env.d.trust();
    trust.setRnSet(set);
    const c = await RawClient.attach(env.address, trust, env.d.member('gateway'));
    cleanups.push(() => c.close());
    const artefacts = (): number => c.received.filter((r) => r.type === 'control' && r.m.kind === ControlKind.ARTEFACT).length;
    for (let i = 0; i < 50; i++) c.sendControl({ kind: ControlKind.ARTEFACT, artefact: new Uint8Array(0) });
    await until(() => artefacts() >= 2, 'the held artefacts, once');
    // A PING's answer behind the requests: everything the RN sent for them has arrived by then.
    c.sendControl({ kind: ControlKind.PING, nonce: 7 });
    await c.control(ControlKind.PONG);
    expect(artefacts()).toBe(2);
    expect(c.closed).toBe(false);
    // A newer one still reaches the link.
    env.shelf.offer('rn-set', env.d.rnSet([{ id: env.rnId, addresses: [env.address] }]));
    await until(() => artefacts() === 3, 'the newer statement');
  });

  it('an EP sending ARTEFACT to the RN is a kind sent the wrong way: the link is closed', async () => {
    const env = await startRn();
    const set = env.d.rnSet([{ id: env.rnId, addresses: [env.address] }]);
    const trust = env.d.trust();
    trust.setRnSet(set);
    const c = await RawClient.attach(env.address, trust, env.d.member('gateway'));
    cleanups.push(() => c.close());
    c.sendControl({ kind: ControlKind.ARTEFACT, artefact: set });
    await c.whenClosed();
  });
});
