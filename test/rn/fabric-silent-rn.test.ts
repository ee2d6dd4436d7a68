// A silent RN on the fabric (SIGSTOP: stopped or partitioned, its NATS connection still open): the
// server keeps its presence until it drops the connection itself (its own ping_interval, default
// 2 min, and not while it still delivers to it), so the queue group keeps routing JOINs there. The
// ingress RN asks again when an attempt goes unanswered (src/rn/fabric/join-request.ts): a real
// `uzpgw rn --fabric` process holding a gateway, stopped, and an in-process ingress Fabric on a
// real nats-server. The JOIN is asked three times, fresh each time, then refused; and an RN that
// comes back during the retries answers — once: the retry to the same RN gets the stitch it made
// for the first attempt, not a second OFFER. Before, one unanswered request was the end of it.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { writeArtefactFile } from '../../src/files/artefact-file.js';
import { writeKeyFile } from '../../src/files/keyfile.js';
import { encodeTrustAnchor } from '../../src/files/trust-anchor.js';
import { Fabric } from '../../src/rn/fabric/fabric.js';
import { decodeFabricJoin, decodeFabricJoinReply, type FabricJoinReply } from '../../src/rn/fabric/messages.js';
import { silentLog } from '../../src/rn/log.js';
import { RnStats } from '../../src/rn/stats.js';
import { Switchboard, type Peer } from '../../src/rn/switchboard.js';
import { toHex } from '../../src/uzp/bytes.js';
import { x25519PrivateFromEd25519Seed } from '../../src/uzp/crypto/ed-to-x25519.js';
import { nodeProvider } from '../../src/uzp/crypto/node.js';
import { ControlKind, JoinRefusedCode } from '../../src/uzp/link/constants.js';
import type { ControlMessage } from '../../src/uzp/link/control.js';
import { RnLink, type Offer } from '../../src/uzp/link/rn-link.js';
import { TestDomain } from '../helpers/domain.js';
import { waitForLog } from '../helpers/fabric-rig.js';
import { freeLoopbackPort } from '../helpers/free-port.js';
import { NatsCluster } from '../helpers/nats-cluster.js';
import { signalProcess, spawnCli, stopProcess, waitForJsonLine } from '../helpers/processes.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const until = async (cond: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 1_000 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out: ${what}`);
};

/** One attempt's wait at the ingress: short, so three of them fit in a test. */
const ATTEMPT_MS = 400;

async function setup() {
  const nats = await NatsCluster.start(1);
  cleanups.push(() => nats.stop());
  const server = nats.nodes[0]!.url;
  const dir = mkdtempSync(join(tmpdir(), 'uzp-silent-rn-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const d = new TestDomain(undefined, Date.now());
  const domain = toHex(d.root.cid);
  const egressId = d.member('rn').id;
  const ingressId = d.member('rn').id;
  const address = `127.0.0.1:${await freeLoopbackPort()}`;
  writeFileSync(join(dir, 'trust.json'), encodeTrustAnchor({ domain: 'silent', rootPublicKey: d.root.publicKey, rootCid: d.root.cid }));
  writeKeyFile(join(dir, 'rn.key'), egressId);
  const rnSet = d.rnSet([
    { id: egressId, addresses: [address] },
    { id: ingressId, addresses: ['127.0.0.1:1'] },
  ]);
  writeArtefactFile(join(dir, 'rn-set.uzp'), rnSet);
  const rn = spawnCli(['rn', '--listen', address, '--trust', join(dir, 'trust.json'), '--key', join(dir, 'rn.key'), '--rn-set', join(dir, 'rn-set.uzp'), '--fabric', server, '--drain-ms', '0', '--log-level', 'info']);
  // A stopped process cannot be stopped by SIGTERM: it is continued first, whatever the test did.
  cleanups.push(async () => {
    signalProcess(rn, 'SIGCONT');
    await stopProcess(rn);
  });
  await waitForJsonLine(rn, (v) => v.event === 'listening');
  await waitForLog(rn, 'fabric_connected');

  // The gateway at the RN process, accepting (its offers recorded, then rejected).
  const gw = d.member('gateway');
  const epTrust = d.trust();
  epTrust.setRnSet(rnSet);
  const link = await RnLink.attach({ address, trust: epTrust, identity: { seed: gw.id.seed, pcert: gw.pcert } });
  cleanups.push(() => link.close());
  const offers: Offer[] = [];
  link.on('offer', (o) => {
    offers.push(o);
    o.reject();
  });
  link.accept();

  // The ingress: an in-process Fabric of the same domain, the RN process its peer.
  const stats = new RnStats();
  const sb = new Switchboard({ trust: {} as never, stats, log: silentLog });
  const keys = new Map([egressId, ingressId].map((id) => [toHex(id.cid), id.publicKey]));
  const f = await Fabric.start(
    { servers: [server], rnCid: ingressId.cid, signer: ingressId.signer, x25519Private: x25519PrivateFromEd25519Seed(nodeProvider, ingressId.seed), provider: nodeProvider, domain, rnKey: (c) => keys.get(toHex(c)), log: silentLog, stats, joinTimeoutMs: ATTEMPT_MS },
    sb,
    new AbortController().signal,
  );
  cleanups.push(() => f?.close());

  // Presence first (a request to a subject nobody subscribes fails at once), then a sniffer that
  // sees every JOIN request for the gateway, as a party on the cluster could.
  const sniffer = await connect({ servers: server });
  cleanups.push(() => sniffer.close());
  for (;;) {
    try {
      await sniffer.request(`uzp.${domain}.join.${toHex(gw.id.cid)}`, new Uint8Array([0]), { timeout: 200 });
    } catch (e) {
      if (!/no responders/i.test(String(e))) break; // subscribed: junk is dropped, the request times out
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const requests: number[] = [];
  sniffer.subscribe(`uzp.${domain}.join.${toHex(gw.id.cid)}`, { callback: (_e, m) => void requests.push(decodeFabricJoin(nodeProvider, m.data, () => undefined).join.atMs) });
  // And every answer, to whichever attempt.
  const replies: FabricJoinReply[] = [];
  sniffer.subscribe(`uzp.${domain}.reply.>`, { callback: (_e, m) => void replies.push(decodeFabricJoinReply(nodeProvider, m.data, (c) => keys.get(toHex(c))).reply) });
  await sniffer.flush();

  const across = sb as unknown as { joinAcross(p: Peer, m: object, refuse: (code: number) => void): void };
  let ids = 0;
  /** A JOIN at the ingress for the gateway: its JOINED stitch or JOIN_REFUSED code. */
  const joinGateway = (): Promise<{ joined: number } | { refused: number }> =>
    new Promise((resolve) => {
      const control: ControlMessage[] = [];
      const op: Peer = { cid: nodeProvider.randomBytes(32), linkId: ++ids, congested: false, sendControl: (m) => void control.push(m), sendData: () => {}, holdFor: () => {}, onRelieved: () => {}, markStuck: () => {} };
      sb.attach(op);
      across.joinAcross(op, { kind: ControlKind.JOIN, joinId: 1, target: gw.id.cid, grant: new Uint8Array(8), ch1: new Uint8Array(8) }, (code) => resolve({ refused: code }));
      void until(() => control.some((m) => m.kind === ControlKind.JOINED), 'JOINED').then(
        () => resolve({ joined: (control.find((m) => m.kind === ControlKind.JOINED) as { stitchId: number }).stitchId }),
        () => undefined,
      );
    });
  return { rn, stats, offers, requests, replies, joinGateway };
}

describe('a silent RN holding the target', () => {
  it('the JOIN is asked three times, each freshly stamped, then refused as not reachable', async () => {
    const { rn, stats, offers, requests, joinGateway } = await setup();
    signalProcess(rn, 'SIGSTOP');
    expect(await joinGateway()).toEqual({ refused: JoinRefusedCode.PEER_NOT_ATTACHED });
    expect(requests).toHaveLength(3);
    expect(new Set(requests).size).toBe(3);
    expect(stats.fabric.joinRetries).toBe(2);
    expect(offers).toHaveLength(0);
  });

  it('an RN that comes back while the JOIN is asked again answers it, with one stitch for all the attempts it got', async () => {
    const { rn, offers, requests, replies, joinGateway } = await setup();
    signalProcess(rn, 'SIGSTOP');
    const result = joinGateway();
    // The first attempt went unanswered; the second is out: the RN comes back and finds both.
    await until(() => requests.length === 2, 'a second attempt');
    signalProcess(rn, 'SIGCONT');
    expect(await result).toHaveProperty('joined');
    // Every attempt sent is answered (the RN is the only subscriber), each with the same stitch,
    // and the gateway was offered it once.
    await until(() => replies.length === requests.length, 'an answer to every attempt');
    expect(replies.length).toBeGreaterThanOrEqual(2);
    expect(new Set(replies.map((r) => (r.ok ? r.egressStitch : -r.code))).size).toBe(1);
    expect(replies[0]!.ok).toBe(true);
    // The OFFER_VIA reaches the gateway over its RN link, not NATS: it may come after the replies.
    // A second stitch would have shown above as a reply with another egress stitch.
    await until(() => offers.length > 0, 'the offer at the gateway');
    expect(offers).toHaveLength(1);
  });
});
