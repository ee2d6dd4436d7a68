// Stitches the far RN does not have (src/rn/fabric/far-rns.ts unknown(); docs/PROFILE.md §Fabric
// "Liveness of the far RN"), time driven by the test and the far RN's answers given by hand: an
// answer to the probe in flight that names its stitch sets off one check of every stitch with that
// RN, and the check's answer ends those it names — nothing else. Real RNs on a real nats-server: fabric-far-rn-restart.test.ts and
// fabric-far-rn-back.test.ts.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PROBE_MS } from '../../src/rn/fabric/far-rns.js';
import { toHex } from '../../src/uzp/bytes.js';
import { UnstitchCode } from '../../src/uzp/link/constants.js';
import { A, B, farRnsRig } from '../helpers/far-rns-rig.js';

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

describe('far RNs: stitches the far RN does not have', () => {
  it('its answer to a probe sets off a check of every stitch with it; those the check\'s answer names end (UNSTITCH 4), in one log line and one count', () => {
    const s = farRnsRig();
    for (const id of [1, 2, 3]) s.stitch(A, id);
    s.stitch(B, 4);
    vi.advanceTimersByTime(PROBE_MS);
    const probe = s.lastProbe(A)!;
    // It restarted: it has none of them. First it says so of the stitch the probe named.
    s.far.unknown(A, probe.token, [probe.stitch]);
    expect(s.ended).toEqual([]);
    const check = s.sent.at(-1)!;
    expect(check.rn).toBe(toHex(A));
    expect([...check.stitches].sort()).toEqual([1001, 1002, 1003]);
    expect(check.token).not.toBe(probe.token);
    // A second answer to the same probe sets off nothing more.
    const sent = s.sent.length;
    s.far.unknown(A, probe.token, [probe.stitch]);
    expect(s.sent).toHaveLength(sent);
    // The check's answer (a restarted RN has none of them; here it kept stitch 2).
    s.far.unknown(A, check.token, [1001, 1003]);
    expect(s.ended.sort((x, y) => x.id - y.id)).toEqual([
      { id: 1, code: UnstitchCode.FAR_RN_GONE },
      { id: 3, code: UnstitchCode.FAR_RN_GONE },
    ]);
    expect(s.lost).toEqual([{ event: 'fabric_stitches_unknown', rn: toHex(A), stitches: 2 }]);
    expect(s.stats).toEqual({ rnsLost: 0, rnLostStitches: 0, unknownStitches: 2, offStitches: 0 });
    // Once only; and the far RN it has not been told anything about: it has no halves to end.
    s.far.unknown(A, check.token, [1001, 1003]);
    expect(s.ended).toHaveLength(2);
    expect(s.told).toEqual([]);
    // Stitch 2 and B's are probed on.
    vi.advanceTimersByTime(PROBE_MS);
    expect(s.probes.slice(-2).map((p) => [p.rn, p.stitch])).toEqual([
      [toHex(A), 1002],
      [toHex(B), 1004],
    ]);
  });

  it('each stitch is probed in turn, so one the far RN does not have among many is found', () => {
    const s = farRnsRig();
    for (let id = 1; id <= 20; id++) s.stitch(A, id);
    const orphan = 1013; // the far RN ended it; its UNSTITCH was lost
    let checks = 0;
    for (let i = 0; i < 20 && s.ended.length === 0; i++) {
      vi.advanceTimersByTime(PROBE_MS);
      const p = s.lastProbe(A)!;
      if (p.stitch !== orphan) continue;
      s.far.unknown(A, p.token, [orphan]);
      checks++;
      s.far.unknown(A, s.sent.at(-1)!.token, [orphan]);
    }
    expect(checks).toBe(1);
    expect(s.ended).toEqual([{ id: 13, code: UnstitchCode.FAR_RN_GONE }]);
  });

  it('answers for anything but the probe in flight count for nothing: another RN\'s, a stitch the probe did not name, an earlier probe\'s, a check\'s for a stitch made after it', () => {
    const s = farRnsRig();
    s.stitch(A, 1);
    s.stitch(A, 2);
    s.stitch(B, 3);
    vi.advanceTimersByTime(PROBE_MS);
    const a = s.lastProbe(A)!;
    const sent = s.sent.length;
    s.far.unknown(B, a.token, [a.stitch]); // B answering A's probe
    s.far.unknown(A, a.token, [a.stitch === 1001 ? 1002 : 1001]); // not the stitch it named
    s.far.unknown(A, s.lastProbe(B)!.token, [1003]); // B's probe, answered as A
    s.far.unknown(A, 'forged', [1001, 1002]);
    expect(s.sent).toHaveLength(sent);
    vi.advanceTimersByTime(PROBE_MS);
    s.far.unknown(A, a.token, [a.stitch]); // an earlier probe's
    expect(s.sent).toHaveLength(sent + 2); // the tick's two probes only
    // A check, then a stitch made after it: the check's answer does not end that one.
    const p = s.lastProbe(A)!;
    s.far.unknown(A, p.token, [p.stitch]);
    const check = s.sent.at(-1)!;
    s.stitch(A, 7);
    s.far.unknown(A, check.token, [1007]);
    expect(s.ended).toEqual([]);
    expect(s.lost).toEqual([]);
  });
});
