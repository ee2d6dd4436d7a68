// Block sizes between endpoints (docs/PROFILE.md §End-to-end handshake, transport parameters): the
// initiator builds blocks up to what the responder announced in EE; the responder, told nothing by
// the initiator, builds blocks of at most the 32 KiB baseline every endpoint accepts. So an
// initiator that accepts only the baseline (a peer from before 64 KiB blocks) loses nothing.

import { describe, expect, it } from 'vitest';
import { BASELINE_BLOCK_PLAINTEXT } from '../../src/uzp/blocks/limits.js';
import { Endpoint, type LinkPort } from '../../src/uzp/endpoint.js';
import type { Channel } from '../../src/uzp/session/channel.js';
import type { Session } from '../../src/uzp/session/session.js';
import { TestDomain, type Member } from '../helpers/domain.js';
import { MemoryLink } from '../helpers/memory-link.js';

const BLOCK_OVERHEAD = 9 + 16; // header and tag around the plaintext

function endpoint(d: TestDomain, m: Member, link: LinkPort, limits?: Record<string, number>): Endpoint {
  return new Endpoint({ trust: d.trust(), identity: { cid: m.id.cid, signer: m.id.signer, pcert: m.pcert }, link, ...(limits ? { limits } : {}) });
}

async function exchange(initiatorLimits?: Record<string, number>) {
  const d = new TestDomain();
  const op = d.member('operator');
  const gw = d.member('gateway');
  const sizes = { a: [] as number[], b: [] as number[] }; // a: initiator -> responder
  const opLink = new MemoryLink(op.id.cid, (p, from) => (sizes[from].push(p.length), [p]));
  const gwLink = new MemoryLink(gw.id.cid);
  opLink.peer = gwLink;
  const responder = endpoint(d, gw, gwLink);
  const drops: string[] = [];
  const echoed = new Promise<Uint8Array>((resolve) => {
    responder.on('session', (s: Session) => s.on('channel', (ch: Channel) => ch.on('message', (m: Uint8Array) => void ch.send(m))));
    responder.accept();
    void endpoint(d, op, opLink, initiatorLimits)
      .connect(gw.id.cid, d.grant(op.id.cid, gw.id.cid))
      .then((session) => {
        session.on('close', (e?: Error) => drops.push(`closed: ${e?.message}`));
        const ch = session.openChannel();
        ch.on('message', (m: Uint8Array) => resolve(m));
        void ch.send(new Uint8Array(300_000).fill(7));
      });
  });
  const back = await echoed;
  return { back, sizes, drops };
}

describe('block sizes between endpoints', () => {
  it('the initiator builds up to the 64 KiB the responder announced; the responder builds at most the 32 KiB baseline', async () => {
    const { back, sizes } = await exchange();
    expect(back).toEqual(new Uint8Array(300_000).fill(7));
    const blocks = (xs: number[]) => xs.filter((n) => n > BLOCK_OVERHEAD + 1000); // data blocks, not the handshake's or acks
    expect(Math.max(...blocks(sizes.a))).toBe(64 * 1024 + BLOCK_OVERHEAD);
    expect(Math.max(...blocks(sizes.b))).toBe(BASELINE_BLOCK_PLAINTEXT + BLOCK_OVERHEAD);
  });

  it('an initiator that accepts only the baseline gets every byte back', async () => {
    const { back, sizes, drops } = await exchange({ acceptBlockPlaintext: BASELINE_BLOCK_PLAINTEXT });
    expect(back).toEqual(new Uint8Array(300_000).fill(7));
    expect(drops).toEqual([]);
    expect(Math.max(...sizes.b)).toBeLessThanOrEqual(BASELINE_BLOCK_PLAINTEXT + BLOCK_OVERHEAD);
  });
});
