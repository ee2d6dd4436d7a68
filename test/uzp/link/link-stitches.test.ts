// The stitches riding on one RN link (src/uzp/link/link-stitches.ts), without a socket: what the
// link tells the RN for each OFFER, JOINED and UNSTITCH, where RELAY payloads go, and that the
// link's end ends every stitch and every waiting JOIN.

import { describe, expect, it } from 'vitest';
import { ControlKind, UnstitchCode } from '../../../src/uzp/link/constants.js';
import type { ControlMessage } from '../../../src/uzp/link/control.js';
import { LinkStitches } from '../../../src/uzp/link/link-stitches.js';
import { PendingJoins } from '../../../src/uzp/link/pending-joins.js';
import type { Offer } from '../../../src/uzp/link/rn-link-types.js';
import type { StitchClosedError, StitchHost } from '../../../src/uzp/link/stitch.js';
import { ErrorCode } from '../../../src/uzp/errors.js';
import { StateError } from '../../../src/lib/errors.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const RN = { cid: new Uint8Array(32).fill(1), publicKey: new Uint8Array(32).fill(2) };
const OTHER_RN = new Uint8Array(32).fill(9);

function rig() {
  const sent: ControlMessage[] = [];
  const host: StitchHost = { maxPayload: 1024, rnCid: RN.cid, sendRelay: () => true, releaseStitch: () => {}, flush: () => {}, probe: () => {} };
  const joins = new PendingJoins(new FakeClock(), 1000);
  const stitches = new LinkStitches({ host, sendControl: (m) => sent.push(m), joins, rnOf: (via) => (via === undefined ? RN : undefined) });
  const offers: Offer[] = [];
  return { sent, joins, stitches, offers, emit: (o: Offer) => void offers.push(o) };
}

const offer = (stitchId: number, via?: Uint8Array): Extract<ControlMessage, { kind: typeof ControlKind.OFFER | typeof ControlKind.OFFER_VIA }> =>
  via === undefined
    ? { kind: ControlKind.OFFER, stitchId, initiator: new Uint8Array(32), grant: new Uint8Array(4), ch1: new Uint8Array(8) }
    : { kind: ControlKind.OFFER_VIA, stitchId, initiator: new Uint8Array(32), grant: new Uint8Array(4), ch1: new Uint8Array(8), via };

describe('LinkStitches', () => {
  it('rejects an OFFER when the link does not accept, nobody listens, or the stitch id is taken', () => {
    const r = rig();
    r.stitches.offer(offer(1), false, r.emit);
    r.stitches.offer(offer(2), true, undefined);
    r.stitches.offer(offer(3), true, r.emit);
    r.stitches.offer(offer(3), true, r.emit);
    expect(r.sent).toEqual([
      { kind: ControlKind.REJECT_OFFER, stitchId: 1 },
      { kind: ControlKind.REJECT_OFFER, stitchId: 2 },
      { kind: ControlKind.REJECT_OFFER, stitchId: 3 },
    ]);
    expect(r.offers.map((o) => o.stitchId)).toEqual([3]);
  });

  it('keeps RELAY payloads that arrive before accept(), names the RN of the offer, and drops payloads for unknown stitches', () => {
    const r = rig();
    r.stitches.offer(offer(5), true, r.emit);
    r.stitches.offer(offer(6, OTHER_RN), true, r.emit);
    expect(r.offers[0]!.rn).toEqual(RN);
    expect(r.offers[1]!.rn).toBeUndefined(); // OFFER_VIA from an RN our set does not list
    expect(r.stitches.relay({ stitchId: 5, payload: new Uint8Array([1, 2]) })).toBe(true);
    expect(r.stitches.relay({ stitchId: 99, payload: new Uint8Array([3]) })).toBe(false);
    const got: number[][] = [];
    r.offers[0]!.accept().onPayload((p) => got.push([...p]));
    expect(got).toEqual([[1, 2]]);
    expect(() => r.offers[0]!.accept()).toThrow(StateError);
  });

  it('reject() sends REJECT_OFFER once and forgets the stitch', () => {
    const r = rig();
    r.stitches.offer(offer(7), true, r.emit);
    r.offers[0]!.reject();
    r.offers[0]!.reject();
    expect(r.sent).toEqual([{ kind: ControlKind.REJECT_OFFER, stitchId: 7 }]);
    expect(r.stitches.relay({ stitchId: 7, payload: new Uint8Array([1]) })).toBe(false);
  });

  it('JOINED settles the waiting JOIN with its stitch; one nobody waits for is unstitched at once', async () => {
    const r = rig();
    const j = r.joins.open();
    r.stitches.joined({ kind: ControlKind.JOINED, joinId: j.id, stitchId: 11 });
    expect((await j.stitch).id).toBe(11);
    r.stitches.joined({ kind: ControlKind.JOINED, joinId: j.id, stitchId: 12 });
    expect(r.sent).toEqual([{ kind: ControlKind.UNSTITCH, stitchId: 12, code: UnstitchCode.CLOSED }]);
  });

  it('UNSTITCH ends the stitch by the peer; release() tells the RN; the link\'s end ends the rest and every waiting JOIN', async () => {
    const r = rig();
    r.stitches.offer(offer(20), true, r.emit);
    r.stitches.offer(offer(21), true, r.emit);
    r.stitches.offer(offer(22), true, r.emit);
    const ends: (StitchClosedError | undefined)[] = [];
    for (const o of r.offers) o.accept().onClose((e) => ends.push(e));
    r.stitches.unstitched({ kind: ControlKind.UNSTITCH, stitchId: 20, code: UnstitchCode.CLOSED });
    r.stitches.release(21);
    r.stitches.release(21); // already gone: nothing more is sent
    const j = r.joins.open();
    const reason = new StateError(ErrorCode.LINK_CLOSED, 'gone');
    r.stitches.endAll(reason);
    await expect(j.stitch).rejects.toBe(reason);
    expect(r.sent).toEqual([{ kind: ControlKind.UNSTITCH, stitchId: 21, code: UnstitchCode.CLOSED }]);
    expect(ends.map((e) => e?.by)).toEqual(['peer', 'link']);
  });
});
