// LinkPool.failures (the gateway's status rn.failures, also its last one after stop()): with one eligible
// RN the manager that attaches after an outage may be the second, the first then waiting in standby
// with its failed attempts counted; the status said `failures: N` beside a link up an hour.

import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ErrorCode, ProtocolError } from '../../../src/uzp/errors.js';
import { LinkPool } from '../../../src/uzp/link/link-pool.js';
import type { RnLink, RnLinkOptions } from '../../../src/uzp/link/rn-link.js';
import { TestDomain } from '../../helpers/domain.js';
import { FakeClock } from '../../helpers/fake-clock.js';

class FakeLink extends EventEmitter {
  attached = true;
  draining = false;
  rnCid = new Uint8Array(32);
  constructor(readonly address: string) { super(); }
  accept(): void {}
  close(): void { if (this.attached) { this.attached = false; this.emit('close', undefined); } }
}
const settled = async (): Promise<void> => { for (let i = 0; i < 8; i++) await new Promise((r) => setImmediate(r)); };

describe('LinkPool.failures with one RN', () => {
  it.each([1, 2, 3, 4])('%i failed attempts, then the RN answers: failures is 0 after a link up an hour (and after stop())', async (n) => {
    const d = new TestDomain();
    const rn = d.member('rn').id;
    const trust = d.trust();
    trust.setRnSet(d.rnSet([{ id: rn, addresses: ['10.0.0.1:7000'] }]));
    const gw = d.member('gateway');
    const clock = new FakeClock();
    let fails = n;
    const attach = (o: RnLinkOptions): Promise<RnLink> =>
      fails-- > 0 ? Promise.reject(new ProtocolError(ErrorCode.LINK_CLOSED, `connect ${o.address} refused`)) : Promise.resolve(new FakeLink(o.address) as unknown as RnLink);
    const pool = new LinkPool({ trust, identity: { seed: gw.id.seed, pcert: gw.pcert }, clock, random: () => 0.999999, attach });
    pool.start();
    for (let t = 0; t < 120 && pool.links.length === 0; t++) {
      clock.advance(250);
      await settled();
    }
    expect(pool.links).toHaveLength(1);
    clock.advance(3_600_000);
    await settled();
    expect(pool.failures).toBe(0); // while up an hour
    pool.stop();
    expect(pool.failures).toBe(0); // the status file's last write
  });
});
