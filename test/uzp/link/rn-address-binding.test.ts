// The RN Set Statement binds addresses to RN keys (each entry lists its own `addr`): the RN that
// answers at an address must be the one listed there (ATTACH_RN_MISMATCH, docs/PROFILE.md §Checks
// and their order). Before, any RN of the set was taken: with RN B's key answering at A's address
// (reviewer's other-member-at-A) both warm-standby links of a pool attached to B, and B down took
// both. Real RNs on 127.0.0.1.

import { afterEach, describe, expect, it } from 'vitest';
import { RendezvousNode } from '../../../src/rn/server.js';
import { ErrorCode } from '../../../src/uzp/errors.js';
import type { CodedError } from '../../../src/lib/errors.js';
import { toHex } from '../../../src/uzp/bytes.js';
import { LinkPool } from '../../../src/uzp/link/link-pool.js';
import { RnLink } from '../../../src/uzp/link/rn-link.js';
import type { Identity } from '../../../src/uzp/identity/identity.js';
import { TestDomain } from '../../helpers/domain.js';
import { errorOf } from '../../helpers/errors.js';
import { until } from './wait.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function realRn(d: TestDomain, id: Identity): Promise<string> {
  const rn = new RendezvousNode({ trust: d.trust(), seed: id.seed });
  const address = await rn.listen('127.0.0.1', 0);
  cleanups.push(() => rn.close());
  return address;
}

describe('RN address binding', () => {
  it("RN B's key at A's address: refused there (ATTACH_RN_MISMATCH), so the pool's links never share an RN", async () => {
    const d = new TestDomain();
    const a = d.member('rn').id;
    const b = d.member('rn').id;
    const atA = await realRn(d, b); // A's address, B answers
    const atB = await realRn(d, b);
    const trust = d.trust();
    trust.setRnSet(d.rnSet([{ id: a, addresses: [atA] }, { id: b, addresses: [atB] }]));
    const gw = d.member('gateway');
    const pool = new LinkPool({ trust, identity: { seed: gw.id.seed, pcert: gw.pcert }, backoffBaseMs: 20, backoffCapMs: 50 });
    cleanups.push(() => pool.stop());
    const downs: CodedError[] = [];
    pool.on('link-down', (e) => e && downs.push(e));
    pool.start();
    // Before: both links attached, both to B.
    await until(() => downs.some((e) => e.code === ErrorCode.ATTACH_RN_MISMATCH) || pool.links.length === 2);
    const mismatch = downs.find((e) => e.code === ErrorCode.ATTACH_RN_MISMATCH);
    expect(mismatch?.message).toContain(atA);
    await until(() => pool.links.length === 1);
    const keys = pool.links.map((l) => toHex(l.rnPublicKey));
    expect(keys).toEqual([toHex(b.publicKey)]);
    expect(pool.links[0]!.address).toBe(atB);
  });

  it('a key remembered at an address (1-RTT) is not used once the RN set lists another RN there', async () => {
    const d = new TestDomain();
    const a = d.member('rn').id;
    const b = d.member('rn').id;
    const address = await realRn(d, b);
    const gw = d.member('gateway');
    const trust = d.trust();
    trust.setRnSet(d.rnSet([{ id: a, addresses: ['127.0.0.1:9'] }, { id: b, addresses: [address] }]));
    const identity = { seed: gw.id.seed, pcert: gw.pcert };
    const first = await RnLink.attach({ address, trust, identity, expectRn: b.publicKey }); // B remembered here
    first.close();
    // The set now lists A at this address; B still answers there, and would to a HELLO sealed to B.
    const err = await errorOf(RnLink.attach({ address, trust, identity, expectRn: a.publicKey }));
    expect(err.code).toBe(ErrorCode.ATTACH_RN_MISMATCH);
  });
});
