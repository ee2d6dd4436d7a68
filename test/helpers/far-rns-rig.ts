// FarRns (src/rn/fabric/far-rns.ts) on its own for tests with fake time (vi.useFakeTimers): the real
// RemotePeer, a recording hop sender, NATS's answers and the far RNs' given by hand.

import { vi } from 'vitest';
import { FarRns, PROBE_MS } from '../../src/rn/fabric/far-rns.js';
import { decodeHop, HopType } from '../../src/rn/fabric/messages.js';
import { RemotePeer, type HopSender } from '../../src/rn/fabric/remote-peer.js';
import { toHex } from '../../src/uzp/bytes.js';

export const A = new Uint8Array(32).fill(0xa1);
export const B = new Uint8Array(32).fill(0xb2);

export function farRnsRig() {
  /** Every probe of one stitch (a tick's, or a check of a single stitch). */
  const probes: { rn: string; stitch: number; consumed: number; token: string }[] = [];
  /** Every probe sent, its CREDITs in order. */
  const sent: { rn: string; stitches: number[]; token: string }[] = [];
  const ended: { id: number; code: number }[] = [];
  const told: { rn: string; stitch: number; code: number }[] = [];
  const lost: Record<string, unknown>[] = [];
  const back: Record<string, unknown>[] = [];
  const ineligible = new Set<string>();
  const stats = { rnsLost: 0, rnLostStitches: 0, unknownStitches: 0, offStitches: 0 };
  let tokens = 0;
  const far = new FarRns({
    now: () => Date.now(),
    token: () => `t${++tokens}`,
    eligible: (rn) => !ineligible.has(toHex(rn)),
    probe: (rn, messages, token) => {
      const credits = messages.map((m) => {
        const h = decodeHop(m);
        if (h.type !== HopType.CREDIT) throw new Error('a probe is CREDITs');
        return h;
      });
      sent.push({ rn: toHex(rn), stitches: credits.map((c) => c.stitch), token });
      if (credits.length === 1) probes.push({ rn: toHex(rn), stitch: credits[0]!.stitch, consumed: credits[0]!.consumed, token });
    },
    // As Switchboard.unstitch does: the local stitch goes, and its far side with it.
    end: (p, code) => {
      ended.push({ id: p.stitchId, code });
      p.close();
    },
    tell: (rn, stitch, code) => void told.push({ rn: toHex(rn), stitch, code }),
    log: { debug() {}, info: (o) => void back.push(o as Record<string, unknown>), error() {}, warn: (o) => void lost.push(o as Record<string, unknown>) },
    stats,
  });
  const out: HopSender = { data() {}, credit() {}, unstitch: (rn, stitch, code) => void told.push({ rn: toHex(rn), stitch, code }) };
  const hop = { hopFramesOut: 0, hopFramesIn: 0, hopDropped: 0 };
  /** Local stitch `id` with RN `rn`, whose id for it there is id + 1000. */
  const stitch = (rn: Uint8Array, id: number): RemotePeer => {
    const p = new RemotePeer(new Uint8Array(32), id, out, hop, far);
    p.connect(rn, id + 1000);
    return p;
  };
  /** The probe to `rn` sent at the last tick. */
  const lastProbe = (rn: Uint8Array) => probes.filter((p) => p.rn === toHex(rn)).at(-1);
  /** NATS answers the last probe to `rn` "no responders", then the shared tick comes. */
  const away = (rn: Uint8Array): void => {
    s.far.noResponders(lastProbe(rn)!.token);
    vi.advanceTimersByTime(PROBE_MS);
  };
  const s = { far, probes, sent, ended, told, lost, back, ineligible, stats, stitch, lastProbe, away };
  return s;
}
