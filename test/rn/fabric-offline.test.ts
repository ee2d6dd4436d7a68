// This RN off NATS (src/rn/fabric/far-rns.ts online(), leave(); docs/PROFILE.md §Fabric "Liveness of
// the far RN"), time driven by the test. Before, stitches across stayed up for as long as the NATS
// cluster was out of reach — minutes, or for good — with nothing crossing them. Now off NATS for
// OFFLINE_MS (20 s, as SILENT_MS: by then every far RN has found this one absent or silent and ended
// its half) every stitch across ends; a NATS node switch (ms to a few seconds) ends nothing. The
// end to end case of a switch is test/e2e/fabric.test.ts (a NATS node killed under a busy session);
// the connection closed for good, test/rn/fabric-lost-stitches.test.ts.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OFFLINE_MS, PROBE_MS } from '../../src/rn/fabric/far-rns.js';
import { toHex } from '../../src/uzp/bytes.js';
import { UnstitchCode } from '../../src/uzp/link/constants.js';
import { A, B, farRnsRig } from '../helpers/far-rns-rig.js';

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

describe('far RNs: this RN off NATS', () => {
  it('for OFFLINE_MS: every stitch across ends (UNSTITCH 4), one log line and one count for all; each far RN is told when heard from again', () => {
    const s = farRnsRig();
    s.stitch(A, 1);
    s.stitch(A, 2);
    s.stitch(B, 3);
    vi.advanceTimersByTime(PROBE_MS);
    s.far.online(false);
    vi.advanceTimersByTime(10_000);
    s.far.online(false); // said again while down: the count goes on
    vi.advanceTimersByTime(OFFLINE_MS - 10_000 - PROBE_MS);
    expect(s.ended).toEqual([]);
    vi.advanceTimersByTime(PROBE_MS);
    expect(s.ended.sort((x, y) => x.id - y.id)).toEqual([1, 2, 3].map((id) => ({ id, code: UnstitchCode.FAR_RN_GONE })));
    expect(s.lost).toEqual([expect.objectContaining({ event: 'fabric_offline_stitches_ended', rns: 2, stitches: 3 })]);
    expect(s.stats).toEqual({ rnsLost: 0, rnLostStitches: 0, unknownStitches: 0, offStitches: 3 });
    expect(vi.getTimerCount()).toBe(0);
    // Back: an RN that kept its halves (it never judged us) is told with the first batch from it.
    s.far.online(true);
    expect(s.told).toEqual([]);
    s.far.heard(A, true);
    expect(s.told.sort((x, y) => x.stitch - y.stitch)).toEqual([
      { rn: toHex(A), stitch: 1001, code: UnstitchCode.RN },
      { rn: toHex(A), stitch: 1002, code: UnstitchCode.RN },
    ]);
  });

  it('a NATS node switch, however often, ends nothing: only OFFLINE_MS off in a row counts', () => {
    const s = farRnsRig();
    s.stitch(A, 1);
    for (let i = 0; i < 20; i++) {
      s.far.online(false);
      vi.advanceTimersByTime(OFFLINE_MS - PROBE_MS);
      s.far.online(true);
      s.far.heard(A, true);
      vi.advanceTimersByTime(PROBE_MS);
    }
    expect(s.ended).toEqual([]);
    expect(s.lost).toEqual([]);
  });

  it('time our own event loop was held is not counted: the NATS client could not reconnect meanwhile either', () => {
    const s = farRnsRig();
    s.stitch(A, 1);
    vi.advanceTimersByTime(PROBE_MS);
    s.far.online(false);
    vi.advanceTimersByTime(10_000);
    vi.setSystemTime(Date.now() + 60_000); // held for a minute: no timer ran
    vi.advanceTimersByTime(PROBE_MS);
    vi.advanceTimersByTime(OFFLINE_MS - PROBE_MS);
    expect(s.ended).toEqual([]);
    vi.advanceTimersByTime(PROBE_MS);
    expect(s.ended).toEqual([{ id: 1, code: UnstitchCode.FAR_RN_GONE }]);
  });

  it('for good (leave()): every stitch ends at once, how many is returned, nothing is left running', () => {
    const s = farRnsRig();
    s.stitch(A, 1);
    s.stitch(B, 2);
    vi.advanceTimersByTime(PROBE_MS);
    expect(s.far.leave()).toBe(2);
    expect(s.ended.map((e) => e.code)).toEqual([UnstitchCode.FAR_RN_GONE, UnstitchCode.FAR_RN_GONE]);
    expect(s.stats.offStitches).toBe(2);
    expect(vi.getTimerCount()).toBe(0);
    s.stitch(A, 3); // a reply that was on its way: not probed, not judged
    vi.advanceTimersByTime(10 * PROBE_MS);
    expect(vi.getTimerCount()).toBe(0);
  });
});
