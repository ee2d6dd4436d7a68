// End-to-end sessions through a real RN process (`node dist/cli/main.js rn`, built by `npm test`),
// with a framing-aware proxy on each EP's link to record, flip and replay what the RN relays.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeKeyFile } from '../../src/files/keyfile.js';
import { encodeTrustAnchor } from '../../src/files/trust-anchor.js';
import type { TrustStore } from '../../src/uzp/artefacts/trust.js';
import { equal, utf8 } from '../../src/uzp/bytes.js';
import { Endpoint } from '../../src/uzp/endpoint.js';
import { SUITE_AESGCM, SUITE_CHACHA, SUITE_HYBRID } from '../../src/uzp/handshake/suites.js';
import type { Identity } from '../../src/uzp/identity/identity.js';
import { RnLink } from '../../src/uzp/link/rn-link.js';
import type { Channel } from '../../src/uzp/session/channel.js';
import type { Session } from '../../src/uzp/session/session.js';
import { TestDomain, type Member } from '../helpers/domain.js';
import { isRelay, LinkProxy, relayPayloadType, RELAY_PAYLOAD_OFFSET } from '../helpers/link-proxy.js';
import { spawnCli, stopAll, waitForJsonLine } from '../helpers/processes.js';
import { until } from '../uzp/link/wait.js';

/** One turn of the event loop (I/O included), not a wall-clock pause. */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
import { type CodedError } from '../../src/lib/errors.js';

let dir: string;
let d: TestDomain;
let rnId: Identity;
let rnAddress: string;
const links: RnLink[] = [];
const proxies: LinkProxy[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'uzp-e2e-'));
  d = new TestDomain(undefined, Date.now()); // the RN child validates against the real clock
  rnId = d.member('rn').id;
  writeFileSync(join(dir, 'trust.json'), encodeTrustAnchor({ domain: 'e2e', rootPublicKey: d.root.publicKey, rootCid: d.root.cid }));
  writeKeyFile(join(dir, 'rn.key'), rnId);
  const rn = spawnCli(['rn', '--listen', '127.0.0.1:0', '--trust', join(dir, 'trust.json'), '--key', join(dir, 'rn.key')]);
  rnAddress = (await waitForJsonLine<{ event: string; address: string }>(rn, (v) => v.event === 'listening')).address;
});

afterAll(async () => {
  for (const l of links) l.close();
  for (const p of proxies) await p.stop();
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

function trustFor(): TrustStore {
  const t = d.trust();
  t.setRnSet(d.rnSet([{ id: rnId, addresses: [rnAddress] }]));
  return t;
}

async function proxied(): Promise<{ proxy: LinkProxy; address: string }> {
  const [host, port] = rnAddress.split(':');
  const proxy = new LinkProxy({ host: host!, port: Number(port) });
  proxies.push(proxy);
  return { proxy, address: await proxy.start() };
}

interface Pair {
  op: Member;
  gw: Member;
  initiator: Session;
  responder: Session;
  proxyI: LinkProxy;
  proxyR: LinkProxy;
  gwEndpoint: Endpoint;
}

async function pair(
  opts: { suites?: number[]; gwTrust?: TrustStore; grant?: Uint8Array; op?: Member; gw?: Member; onResponder?: (ep: Endpoint) => void; continuity?: boolean } = {},
): Promise<Pair> {
  const op = opts.op ?? d.member('operator');
  const gw = opts.gw ?? d.member('gateway');
  const pI = await proxied();
  const pR = await proxied();
  const gwTrust = opts.gwTrust ?? trustFor();
  const gwLink = await RnLink.attach({ address: pR.address, trust: gwTrust, identity: { seed: gw.id.seed, pcert: gw.pcert } });
  links.push(gwLink);
  // PoR every 100 ms, failover after 1 s without a proof (continuity: both sides must announce it).
  const por = { intervalMs: 100, timeoutMs: 1_000 };
  const gwEndpoint = new Endpoint({ trust: gwTrust, identity: { cid: gw.id.cid, signer: gw.id.signer, pcert: gw.pcert }, link: gwLink, ...(opts.continuity ? { continuity: { trust: gwTrust, por } } : {}) });
  const accepted = new Promise<Session>((r) => gwEndpoint.once('session', r));
  opts.onResponder?.(gwEndpoint);
  gwEndpoint.accept();
  const opTrust = trustFor();
  const opLink = await RnLink.attach({ address: pI.address, trust: opTrust, identity: { seed: op.id.seed, pcert: op.pcert } });
  links.push(opLink);
  const opEndpoint = new Endpoint({ trust: opTrust, identity: { cid: op.id.cid, signer: op.id.signer, pcert: op.pcert }, link: opLink, ...(opts.continuity ? { continuity: { trust: opTrust, por } } : {}) });
  const initiator = await connectWhenAccepting(() => opEndpoint.connect(gw.id.cid, opts.grant ?? d.grant(op.id.cid, gw.id.cid), { suites: opts.suites }));
  const responder = await accepted;
  return { op, gw, initiator, responder, proxyI: pI.proxy, proxyR: pR.proxy, gwEndpoint };
}

/**
 * The gateway attached and sent ACCEPT a moment ago on another connection (through another proxy):
 * on a loaded box the RN can read the operator's JOIN first and answer PEER_NOT_ATTACHED (seen once
 * in CI). A gateway in the field accepts long before anyone joins; here the JOIN is tried again,
 * a few times, for that one refusal only.
 */
async function connectWhenAccepting(connect: () => Promise<Session>): Promise<Session> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect();
    } catch (e) {
      if ((e as CodedError).code !== 'PEER_NOT_ATTACHED' || attempt === 5) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function firstChannelMessages(s: Session, n: number): Promise<{ ch: Channel; msgs: Uint8Array[] }> {
  return new Promise((resolve) =>
    s.once('channel', (ch: Channel) => {
      const msgs: Uint8Array[] = [];
      ch.on('message', (m: Uint8Array) => {
        msgs.push(m);
        if (msgs.length === n) resolve({ ch, msgs });
      });
    }),
  );
}

function numbered(i: number, size: number): Uint8Array {
  const m = new Uint8Array(size).fill(0x5a);
  new DataView(m.buffer).setUint32(0, i);
  return m;
}

describe('E2E sessions through an RN process', () => {
  for (const [name, suite] of [
    ['ChaCha20-Poly1305', SUITE_CHACHA],
    ['AES-256-GCM', SUITE_AESGCM],
    ['hybrid X25519+ML-KEM-768', SUITE_HYBRID],
  ] as const) {
    it(`exchanges data both ways with ${name}`, async () => {
      const p = await pair({ suites: [suite] });
      expect(p.initiator.keys.suite.id).toBe(suite);
      expect(p.responder.keys.suite.id).toBe(suite);
      expect(p.initiator.state).toBe('stitched');
      const N = 200;
      const inbound = firstChannelMessages(p.responder, N + 1);
      const ch = p.initiator.openChannel();
      for (let i = 0; i < N; i++) await ch.send(numbered(i, 64));
      const big = new Uint8Array(1_000_000).map((_, i) => (i * 7) & 0xff);
      await ch.send(big);
      const { ch: rch, msgs } = await inbound;
      expect(msgs.slice(0, N).map((m) => new DataView(m.buffer, m.byteOffset).getUint32(0))).toEqual([...Array(N).keys()]);
      expect(equal(msgs[N]!, big)).toBe(true);
      const back = new Promise<Uint8Array>((r) => ch.once('message', r));
      await rch.send(utf8.encode('pong'));
      expect(utf8.decode(await back)).toBe('pong');
      p.initiator.close();
    });
  }

  it('the RN never holds end-to-end plaintext: a marker sent E2E never appears in relayed bytes', async () => {
    const p = await pair();
    const marker = utf8.encode('MARKER-7f3a9c-plaintext-must-never-cross-the-RN');
    const N = 50;
    const inbound = firstChannelMessages(p.responder, N);
    const ch = p.initiator.openChannel();
    for (let i = 0; i < N; i++) await ch.send(marker);
    const { msgs } = await inbound;
    expect(msgs.every((m) => equal(m, marker))).toBe(true);
    const seen = Buffer.concat([p.proxyI.bytes(), p.proxyR.bytes()]);
    // The proxies did see the traffic (so this test can fail): at least the marker volume crossed.
    expect(seen.length).toBeGreaterThan(N * marker.length);
    expect(seen.includes(Buffer.from(marker))).toBe(false);
    expect(seen.includes(Buffer.from(marker.subarray(0, 16)))).toBe(false);
    p.initiator.close();
  });

  it('a byte flipped in RN-relayed blocks: each such block is rejected, never delivered, and data arrives intact', async () => {
    const p = await pair();
    let flips = 0;
    p.proxyI.hook = (f, dir) => {
      if (dir === 'to-rn' && isRelay(f) && (relayPayloadType(f) & 0xfe) === 0x10 && flips < 5) {
        flips++;
        const c = f.slice();
        // anywhere in the block after the relay header: type, number, ciphertext or tag
        const span = c.length - RELAY_PAYLOAD_OFFSET;
        c[RELAY_PAYLOAD_OFFSET + ((flips * 7919) % span)]! ^= 1 << flips % 8;
        return [c];
      }
      return [f];
    };
    const N = 40;
    const inbound = firstChannelMessages(p.responder, N);
    const ch = p.initiator.openChannel();
    const sent: Uint8Array[] = [];
    for (let i = 0; i < N; i++) {
      const m = numbered(i, 3000);
      sent.push(m);
      await ch.send(m);
      if (i % 5 === 0) await turn(); // let the relay and the proxy move between bursts
    }
    const { msgs } = await inbound;
    expect(flips).toBe(5);
    expect(msgs.length).toBe(N);
    for (let i = 0; i < N; i++) expect(equal(msgs[i]!, sent[i]!)).toBe(true);
    expect(p.responder.stats.dropped + p.responder.stats.droppedPayloads).toBeGreaterThanOrEqual(5);
    p.initiator.close();
  });

  it('a hostile RN cannot fake reachability (draft §12.6): replayed, fabricated and foreign PoR blocks are refused; a withheld answer is a failover', async () => {
    const p = await pair({ continuity: true });
    const other = await pair({ continuity: true });
    // What the RN can see of the other session's PoR: its blocks, to forward into this one.
    const foreign: Uint8Array[] = [];
    other.proxyI.hook = (f, dir) => {
      if (dir === 'from-rn' && isRelay(f) && (relayPayloadType(f) & 0xfc) === 0x10 && foreign.length < 20) foreign.push(f.slice());
      return [f];
    };
    await until(() => foreign.length >= 5 && p.initiator.failover!.liveness!.stats.accepted >= 2, 'PoR running in both sessions');
    // Towards the operator the RN replays every block twice, forwards the other session's blocks and
    // adds fabricated ones: none may count as a proof.
    let forwarded = 0;
    let fabricated = 0;
    p.proxyI.hook = (f, dir) => {
      if (dir !== 'from-rn' || !isRelay(f) || (relayPayloadType(f) & 0xfc) !== 0x10) return [f];
      const out = [f, f.slice()];
      const alien = foreign[forwarded++ % foreign.length]!.slice();
      alien.set(f.subarray(5, RELAY_PAYLOAD_OFFSET), 5); // this stitch's id
      out.push(alien);
      const fake = f.slice();
      for (let i = RELAY_PAYLOAD_OFFSET + 1; i < fake.length; i++) fake[i] = (i * 31 + fabricated) & 0xff;
      fabricated++;
      out.push(fake);
      return out;
    };
    const live = p.initiator.failover!.liveness!.stats;
    const before = { accepted: live.accepted, dropped: p.initiator.stats.dropped };
    await until(() => live.accepted >= before.accepted + 5 && fabricated >= 10, 'PoR goes on under the hostile relay');
    expect(live.refused).toBe(0); // nothing it injected even reached the PoR verifier
    expect(p.initiator.stats.dropped - before.dropped).toBeGreaterThanOrEqual(fabricated); // replays, foreign and fabricated blocks dropped
    expect(p.initiator.state).toBe('stitched');
    // Withholding the responder's blocks is all the RN can do: no proof, so a failover — never a false "alive".
    // (Whichever side's PoR runs out first ends the stitch; the other hears UNSTITCH.)
    const failover = new Promise<void>((r) => p.initiator.once('failover', () => r()));
    p.proxyI.hook = (f, dir) => (dir === 'from-rn' && isRelay(f) ? [] : [f]);
    const acceptedWhenWithheld = live.accepted;
    await failover;
    expect(live.accepted).toBeLessThanOrEqual(acceptedWhenWithheld + 1); // at most one already in flight
    p.initiator.close();
    other.initiator.close();
  });

  it('a captured block replayed later is rejected and not delivered twice', async () => {
    const p = await pair();
    let captured: Uint8Array | undefined;
    let relays = 0;
    p.proxyI.hook = (f, dir) => {
      if (dir !== 'to-rn' || !isRelay(f) || (relayPayloadType(f) & 0xfe) !== 0x10) return [f];
      relays++;
      if (captured === undefined) captured = f.slice();
      // Replay the first data block several blocks later, and again at the end.
      if (relays === 6 || relays === 12) return [f, captured];
      return [f];
    };
    const N = 30;
    const received: Uint8Array[] = [];
    const inbound = firstChannelMessages(p.responder, N);
    p.responder.once('channel', (c: Channel) => c.on('message', (m: Uint8Array) => received.push(m)));
    const ch = p.initiator.openChannel();
    for (let i = 0; i < N; i++) {
      await ch.send(numbered(i, 2000));
      await turn();
    }
    await inbound;
    // The second replay follows the last block: wait until the responder has seen and dropped it.
    await until(() => relays >= 12 && p.responder.stats.dropped >= 2, 'both replays dropped');
    expect(relays).toBeGreaterThanOrEqual(12);
    expect(received.length).toBe(N);
    expect(received.map((m) => new DataView(m.buffer, m.byteOffset).getUint32(0))).toEqual([...Array(N).keys()]);
    expect(p.responder.stats.dropped).toBeGreaterThanOrEqual(2);
    p.initiator.close();
  });

  it('the responder refuses a Grant the RN accepted (revoked at the responder only): never trust the RN alone', async () => {
    const op = d.member('operator');
    const gw = d.member('gateway');
    const grant = d.grant(op.id.cid, gw.id.cid);
    const gwTrust = trustFor();
    gwTrust.setRevocation(d.revocation([], [gwTrust.validateGrant(grant, { audience: gw.id.cid, nonce: 'ignore' }).objectId]));
    let refused!: Promise<CodedError>;
    const attempt = pair({ op, gw, gwTrust, grant, onResponder: (ep) => (refused = new Promise((r) => ep.once('refused', r))) });
    await expect(attempt).rejects.toMatchObject({ code: expect.stringMatching(/JOIN_REFUSED|HANDSHAKE_REFUSED/) });
    expect((await refused).code).toBe('REVOKED');
  });
});
