// The rendezvous fabric (issue #16) with real processes on loopback: a 3-node NATS cluster and three
// `uzpgw rn --fabric` processes of one trust domain (test/helpers/fabric-rig.ts). Endpoints are
// given RN Sets that put the two sides of a session on different RNs, so every session here crosses
// the fabric: EP A -> RN x -> NATS -> RN y -> EP B.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CodedError } from '../../src/lib/errors.js';
import type { TrustStore } from '../../src/uzp/artefacts/trust.js';
import { Endpoint } from '../../src/uzp/endpoint.js';
import { SUITE_AESGCM, SUITE_CHACHA, SUITE_HYBRID } from '../../src/uzp/handshake/suites.js';
import { RnLink } from '../../src/uzp/link/rn-link.js';
import type { Channel } from '../../src/uzp/session/channel.js';
import type { Session } from '../../src/uzp/session/session.js';
import { FabricRig } from '../helpers/fabric-rig.js';
import type { Member } from '../helpers/domain.js';

let rig: FabricRig;
const links: RnLink[] = [];

beforeAll(async () => {
  rig = await FabricRig.start(3);
}, 60_000);

afterAll(async () => {
  for (const l of links) l.close();
  await rig?.close();
});

async function endpoint(m: Member, trust: TrustStore, rn: number): Promise<Endpoint> {
  const link = await RnLink.attach({ address: rig.addresses[rn]!, trust, identity: { seed: m.id.seed, pcert: m.pcert } });
  links.push(link);
  return new Endpoint({ trust, identity: { cid: m.id.cid, signer: m.id.signer, pcert: m.pcert }, link });
}

/** JOIN until the gateway's presence has reached the ingress RN through NATS (a moment after ACCEPT). */
async function connect(op: Endpoint, gw: Member, grant: Uint8Array, suites?: number[]): Promise<Session> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op.connect(gw.id.cid, grant, suites !== undefined ? { suites } : {});
    } catch (e) {
      if ((e as CodedError).code !== 'PEER_NOT_ATTACHED' || attempt === 40) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function crossPair(gwRn: number, opRn: number, suites?: number[]): Promise<{ initiator: Session; responder: Session; gw: Member; op: Member }> {
  const gw = rig.d.member('gateway');
  const op = rig.d.member('operator');
  const gwEp = await endpoint(gw, rig.trustFor([gwRn]), gwRn);
  const accepted = new Promise<Session>((r) => gwEp.once('session', r));
  gwEp.accept();
  const opEp = await endpoint(op, rig.trustFor([opRn]), opRn);
  const initiator = await connect(opEp, gw, rig.d.grant(op.id.cid, gw.id.cid), suites);
  return { initiator, responder: await accepted, gw, op };
}

function collect(s: Session, n: number): Promise<Uint8Array[]> {
  return new Promise((resolve) =>
    s.once('channel', (ch: Channel) => {
      const got: Uint8Array[] = [];
      ch.on('message', (m: Uint8Array) => {
        got.push(m);
        if (got.length === n) resolve(got);
      });
    }),
  );
}

describe('sessions across the fabric', () => {
  for (const [name, suite] of [
    ['ChaCha20-Poly1305', SUITE_CHACHA],
    ['AES-256-GCM', SUITE_AESGCM],
    ['hybrid X25519+ML-KEM-768', SUITE_HYBRID],
  ] as const) {
    it(`${name}: stitched through two RNs, data both ways in order, 4 MB, eight times the hop window`, async () => {
      const p = await crossPair(1, 0, [suite]);
      expect(p.initiator.keys.suite.id).toBe(suite);
      const N = 300;
      const inbound = collect(p.responder, N + 4);
      const ch = p.initiator.openChannel();
      for (let i = 0; i < N; i++) await ch.send(Uint8Array.of(i >> 8, i & 0xff, 7, 7));
      const big = Array.from({ length: 4 }, (_, k) => new Uint8Array(1_000_000).map((_, i) => (i * 13 + k) & 0xff));
      for (const b of big) await ch.send(b);
      const got = await inbound;
      expect(got.slice(0, N).map((m) => (m[0]! << 8) | m[1]!)).toEqual(Array.from({ length: N }, (_, i) => i));
      for (let k = 0; k < 4; k++) expect(Buffer.compare(Buffer.from(got[N + k]!), Buffer.from(big[k]!))).toBe(0);
      // And back: the responder's channel reaches the initiator through the same two RNs.
      const back = collect(p.initiator, 1);
      await p.responder.openChannel().send(Uint8Array.of(42));
      expect(await back).toEqual([Uint8Array.of(42)]);
      p.initiator.close();
    }, 60_000);
  }
});
