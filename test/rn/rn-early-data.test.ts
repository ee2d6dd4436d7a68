// The RN and early data (draft §9, docs/PROFILE.md §0-RTT "RN"), in-process: under a no-replay
// Grant a JOIN's EARLY_CH1 reaches the responder as the CH1 alone (the early record dropped and
// counted); under an early-data Grant it is forwarded unchanged; a malformed container under a
// no-replay Grant is refused. The RN never judges early data itself: it cannot open it.

import { afterEach, describe, expect, it } from 'vitest';
import { toHex } from '../../src/uzp/bytes.js';
import { ErrorCode } from '../../src/uzp/errors.js';
import { RnLink, type Offer } from '../../src/uzp/link/rn-link.js';
import { EARLY_CH1, encodeEarlyCh1 } from '../../src/uzp/resumption/early-data.js';
import type { CodedError } from '../../src/lib/errors.js';
import type { Member } from '../helpers/domain.js';
import { attachTo, startInProcessRn, type InProcessRn } from '../helpers/inprocess-rn.js';
import { once } from '../uzp/link/wait.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function attach(env: InProcessRn, m: Member): Promise<RnLink> {
  return attachTo(env, m, cleanups);
}

/** Joins the gateway with `ch1` in the CH1 position; resolves with what the gateway was offered. */
async function offered(env: InProcessRn, grant: (op: Member, gw: Member) => Uint8Array, ch1: Uint8Array): Promise<Offer> {
  const gw = env.d.member('gateway');
  const op = env.d.member('operator');
  const gwLink = await attach(env, gw);
  const opLink = await attach(env, op);
  const offer = once<Offer>((cb) => gwLink.once('offer', cb));
  gwLink.accept();
  for (;;) {
    try {
      await opLink.join(gw.id.cid, grant(op, gw), ch1);
      return await offer;
    } catch (e) {
      if ((e as CodedError).code !== ErrorCode.PEER_NOT_ATTACHED) throw e; // ACCEPT not seen yet
    }
  }
}

const CH1 = Uint8Array.of(0x01, 0x01, 0xaa, 0xbb);
const RECORD = new Uint8Array(40).fill(0x5e);

describe('RN: early data under no-replay and early-data Grants', () => {
  it('no-replay Grant: the responder is offered the CH1 alone, and the RN counts the drop', async () => {
    const env = await startInProcessRn(cleanups);
    const offer = await offered(env, (op, gw) => env.d.grant(op.id.cid, gw.id.cid), encodeEarlyCh1(CH1, RECORD));
    expect(toHex(offer.ch1)).toBe(toHex(CH1));
    expect(env.rn.stats.earlyDropped).toBe(1);
  });

  it('early-data Grant: the container is forwarded unchanged (the responder judges it)', async () => {
    const env = await startInProcessRn(cleanups);
    const container = encodeEarlyCh1(CH1, RECORD);
    const offer = await offered(env, (op, gw) => env.d.grant(op.id.cid, gw.id.cid, { earlyData: true }), container);
    expect(offer.ch1[0]).toBe(EARLY_CH1);
    expect(toHex(offer.ch1)).toBe(toHex(container));
    expect(env.rn.stats.earlyDropped).toBe(0);
  });

  it('no-replay Grant with a malformed container: the JOIN is refused', async () => {
    const env = await startInProcessRn(cleanups);
    const gw = env.d.member('gateway');
    const op = env.d.member('operator');
    const gwLink = await attach(env, gw);
    const opLink = await attach(env, op);
    gwLink.accept();
    let code: string | undefined;
    for (let i = 0; i < 50 && (code === undefined || code === ErrorCode.PEER_NOT_ATTACHED); i++) {
      code = await opLink.join(gw.id.cid, env.d.grant(op.id.cid, gw.id.cid), Uint8Array.of(EARLY_CH1, 0, 0)).then(
        () => 'joined',
        (e: CodedError) => e.code,
      );
    }
    expect(code).toBe(ErrorCode.JOIN_REFUSED);
    expect(env.rn.stats.earlyDropped).toBe(0);
  });
});
