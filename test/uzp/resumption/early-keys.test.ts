// The 0-RTT key schedule (src/uzp/resumption/early-keys.ts), derived a second time from its header
// with node:crypto's HMAC (HKDF by RFC 5869's two steps), on both providers; and early keys are
// distinct from every 1-RTT key of the same secrets, and from another CH1's.

import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../../src/uzp/bytes.js';
import { nobleProvider } from '../../../src/uzp/crypto/noble.js';
import { nodeProvider } from '../../../src/uzp/crypto/node.js';
import { expandLabel, trafficKey } from '../../../src/uzp/keyschedule.js';
import { earlyTrafficKey, resumptionMaster, ticketPsk } from '../../../src/uzp/resumption/early-keys.js';

const run = (start: number, n = 32): Buffer => Buffer.from(Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff));
const hmac = (k: Buffer, d: Buffer): Buffer => createHmac('sha256', k).update(d).digest();
/** RFC 5869 Expand for L <= 32 (one block). */
const expand = (prk: Buffer, info: Buffer, l: number): Buffer => hmac(prk, Buffer.concat([info, Buffer.of(1)])).subarray(0, l);
const label = (l: string, ctx: Buffer, len: number): Buffer => {
  const full = Buffer.from('uzp-gw/1 ' + l);
  return Buffer.concat([Buffer.of(len >> 8, len & 0xff, full.length), full, Buffer.of(ctx.length), ctx]);
};
const sha256 = (b: Buffer): Buffer => Buffer.from(nodeProvider.sha256(b));

describe('0-RTT key schedule', () => {
  const master = run(0x00);
  const thSh = run(0x20);
  const ticketId = run(0x10, 16);
  const ch1 = Buffer.concat([Buffer.of(0x01, 0x01), run(0x40, 200)]);

  it.each([
    ['node', nodeProvider],
    ['noble', nobleProvider],
  ] as const)('res master -> psk -> early -> e traffic -> key, iv, as the header says (%s provider)', (_n, p) => {
    const res = expand(master, label('res master', thSh, 32), 32);
    const psk = expand(res, label('resumption', ticketId, 32), 32);
    const early = hmac(Buffer.alloc(32), psk); // HKDF-Extract(salt = zeros, ikm = psk)
    const e = expand(early, label('e traffic', sha256(ch1), 32), 32);
    const key = expand(e, label('key', Buffer.alloc(0), 32), 32);
    const iv = expand(e, label('iv', Buffer.alloc(0), 12), 12);
    expect(toHex(resumptionMaster(p, master, thSh))).toBe(res.toString('hex'));
    expect(toHex(ticketPsk(p, res, ticketId))).toBe(psk.toString('hex'));
    const k = earlyTrafficKey(p, psk, ch1);
    expect(toHex(k.key)).toBe(key.toString('hex'));
    expect(toHex(k.iv)).toBe(iv.toString('hex'));
  });

  it('early keys differ from the 1-RTT keys of the same secrets and from another CH1’s', () => {
    const p = nodeProvider;
    const psk = ticketPsk(p, resumptionMaster(p, master, thSh), ticketId);
    const early = toHex(earlyTrafficKey(p, psk, ch1).key);
    const oneRtt = ['i ap traffic', 'r ap traffic', 'i hs traffic', 'r hs traffic'].map((l) => toHex(trafficKey(p, expandLabel(p, master, l, thSh, 32)).key));
    expect(oneRtt).not.toContain(early);
    const other = Buffer.from(ch1);
    other[other.length - 1]! ^= 1;
    expect(toHex(earlyTrafficKey(p, psk, other).key)).not.toBe(early);
    expect(toHex(earlyTrafficKey(p, ticketPsk(p, resumptionMaster(p, master, thSh), run(0x11, 16)), ch1).key)).not.toBe(early);
  });
});
