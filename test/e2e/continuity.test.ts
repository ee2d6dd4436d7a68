// Session continuity through real RN processes (draft §11): two endpoints keep warm-standby links
// to two RNs (LinkPool); the RN carrying their stitch is killed (SIGKILL) or stopped (SIGSTOP, a
// blackholed path that only PoR notices); the session re-stitches at the other RN (onto its standby
// stitch, or with a RESUME token) and every channel message arrives exactly once and in order, both ways.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeKeyFile } from '../../src/files/keyfile.js';
import { encodeTrustAnchor } from '../../src/files/trust-anchor.js';
import type { TrustStore } from '../../src/uzp/artefacts/trust.js';
import { equal, toHex } from '../../src/uzp/bytes.js';
import { Endpoint } from '../../src/uzp/endpoint.js';
import type { Identity } from '../../src/uzp/identity/identity.js';
import { LinkPool } from '../../src/uzp/link/link-pool.js';
import type { Channel } from '../../src/uzp/session/channel.js';
import type { Session } from '../../src/uzp/session/session.js';
import { TestDomain, type Member } from '../helpers/domain.js';
import { signalProcess, spawnCli, stopAll, waitForJsonLine, type Child } from '../helpers/processes.js';
import { until } from '../uzp/link/wait.js';

let dir: string;
let d: TestDomain;
const rns: { id: Identity; child: Child; readonly address: string }[] = [];
const pools: LinkPool[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'uzp-cont-'));
  d = new TestDomain(undefined, Date.now());
  writeFileSync(join(dir, 'trust.json'), encodeTrustAnchor({ domain: 'e2e', rootPublicKey: d.root.publicKey, rootCid: d.root.cid }));
  for (let i = 0; i < 3; i++) {
    const id = d.member('rn').id;
    writeKeyFile(join(dir, `rn${i}.key`), id);
    const child = spawnCli(['rn', '--listen', '127.0.0.1:0', '--trust', join(dir, 'trust.json'), '--key', join(dir, `rn${i}.key`)]);
    const address = (await waitForJsonLine<{ event: string; address: string }>(child, (v) => v.event === 'listening')).address;
    rns.push({ id, child, address });
  }
});

afterAll(async () => {
  for (const p of pools) p.stop();
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

let rnSetBytes: Uint8Array | undefined;

/** Every endpoint holds the same RN Set Statement (a RESUME names it; another one is refused). */
function trustFor(): TrustStore {
  const t = d.trust();
  rnSetBytes ??= d.rnSet(rns.map((r) => ({ id: r.id, addresses: [r.address] })));
  t.setRnSet(rnSetBytes);
  return t;
}

function endpoint(m: Member, accept: boolean, standby = true): { ep: Endpoint; pool: LinkPool; trust: TrustStore } {
  const trust = trustFor();
  const pool = new LinkPool({ trust, identity: { seed: m.id.seed, pcert: m.pcert }, accept, backoffBaseMs: 50, backoffCapMs: 500 });
  pools.push(pool);
  const ep = new Endpoint({ trust, identity: { cid: m.id.cid, signer: m.id.signer, pcert: m.pcert }, link: pool, continuity: { trust, standby, por: { intervalMs: 200, timeoutMs: 800 } } });
  pool.start();
  return { ep, pool, trust };
}

/** Collects numbered messages on a channel; checks each arrives once, in order. */
function counter(ch: Channel): { readonly got: number[] } {
  const got: number[] = [];
  ch.on('message', (m: Uint8Array) => got.push(new DataView(m.buffer, m.byteOffset).getUint32(0)));
  return { got };
}

function numbered(i: number): Uint8Array {
  const m = new Uint8Array(64);
  new DataView(m.buffer).setUint32(0, i);
  return m;
}

/** Restarts, on its own address, every RN an earlier test killed or drained (the RN Set names them). */
async function revive(): Promise<void> {
  for (const [i, r] of rns.entries()) {
    if (r.child.proc.exitCode === null && r.child.proc.signalCode === null) continue;
    r.child = spawnCli(['rn', '--listen', r.address, '--trust', join(dir, 'trust.json'), '--key', join(dir, `rn${i}.key`)]);
    await waitForJsonLine(r.child, (v) => v.event === 'listening');
  }
}

async function connected(standby = true): Promise<{ initiator: Session; responder: Session; opPool: LinkPool; gwPool: LinkPool }> {
  await revive();
  const gw = endpoint(d.member('gateway'), true, standby);
  const op = endpoint(d.member('operator'), false, standby);
  const gwMember = gw.ep;
  const responder = new Promise<Session>((r) => gwMember.once('session', r));
  gw.ep.accept();
  await until(() => gw.pool.links.length === 2 && op.pool.links.length === 2, "both pools attached to two RNs");
  const gwCid = (gw.ep as unknown as { o: { identity: { cid: Uint8Array } } }).o.identity.cid;
  const opCid = (op.ep as unknown as { o: { identity: { cid: Uint8Array } } }).o.identity.cid;
  const initiator = await op.ep.connect(gwCid, d.grant(opCid, gwCid));
  return { initiator, responder: await responder, opPool: op.pool, gwPool: gw.pool };
}

function rnOf(s: Session): (typeof rns)[number] {
  const cid = (s as unknown as { stitch?: { rnCid: Uint8Array } }).stitch?.rnCid;
  const rn = rns.find((r) => cid !== undefined && equal(r.id.cid, cid));
  if (rn === undefined) throw new Error(`session not stitched through a known RN (${cid ? toHex(cid) : 'none'})`);
  return rn;
}

describe('session continuity across RN loss (draft §11)', () => {
  it('negotiates continuity and proves reachability with PoR', async () => {
    const { initiator, responder } = await connected();
    expect(initiator.failover).toBeDefined();
    expect(responder.failover).toBeDefined();
    await until(() => (initiator.failover!.liveness!.stats.accepted ?? 0) >= 2 && (responder.failover!.liveness!.stats.accepted ?? 0) >= 2, 'PoR accepted both ways');
    expect(initiator.failover!.liveness!.stats.refused).toBe(0);
    initiator.close();
  });

  /**
   * Traffic both ways, `fault` applied to the RN carrying the stitch, then: re-stitched elsewhere
   * and every message delivered once and in order. Returns the re-stitch time.
   */
  async function survives(fault: (rn: (typeof rns)[number]) => void): Promise<number> {
    const { initiator, responder } = await connected();
    // The listener goes on inside the 'channel' event: message 0 is delivered right after it.
    let atResponder: { readonly got: number[] } | undefined;
    let down: Channel | undefined;
    responder.once('channel', (ch: Channel) => {
      down = ch;
      atResponder = counter(ch);
    });
    const up = initiator.openChannel();
    const atInitiator = counter(up);
    await up.send(numbered(0));
    await until(() => down !== undefined, 'channel at the responder');
    const restitched = new Promise<number>((resolve, reject) => {
      initiator.once('restitched', resolve);
      initiator.once('close', (e: Error | undefined) => reject(e ?? new Error('closed')));
    });
    let i = 1;
    let j = 0;
    const recv = atResponder!;
    const pump = setInterval(() => {
      for (let k = 0; k < 20; k++) {
        if (initiator.state !== 'closed' && up.trySend(numbered(i))) i++;
        if (responder.state !== 'closed' && down!.trySend(numbered(j))) j++;
      }
    }, 5);
    await until(() => recv.got.length > 100, 'traffic flowing');
    const victim = rnOf(initiator);
    const t0 = performance.now();
    fault(victim);
    expect(await restitched).toBeGreaterThanOrEqual(1);
    const ms = performance.now() - t0;
    expect(initiator.state).toBe('stitched');
    const sentAtRestitch = i;
    await until(() => recv.got.length > sentAtRestitch + 200, 'traffic after the re-stitch');
    clearInterval(pump);
    await until(() => recv.got.length === i && atInitiator.got.length === j, 'everything delivered');
    expect(recv.got).toEqual([...Array(i).keys()]);
    expect(atInitiator.got).toEqual([...Array(j).keys()]);
    expect(rnOf(initiator)).not.toBe(victim);
    initiator.close();
    return ms;
  }

  it('re-stitches at the standby RN after SIGKILL of the carrying RN: every message once, in order, both ways', async () => {
    await survives((rn) => signalProcess(rn.child, 'SIGKILL'));
  });

  it('a blackholed RN (SIGSTOP) is found by PoR and the session re-stitches elsewhere, nothing lost', async () => {
    let stopped: (typeof rns)[number] | undefined;
    try {
      await survives((rn) => {
        stopped = rn;
        signalProcess(rn.child, 'SIGSTOP');
      });
    } finally {
      if (stopped !== undefined) signalProcess(stopped.child, 'SIGCONT');
    }
  });

  it('an RN stopped with SIGTERM drains (DRAIN): its endpoints leave, the session re-stitches elsewhere, the RN exits 0', async () => {
    let drained: (typeof rns)[number] | undefined;
    await survives((rn) => {
      drained = rn;
      signalProcess(rn.child, 'SIGTERM');
    });
    // Every endpoint left at DRAIN, so the RN did not wait out its 5 s deadline.
    expect(await drained!.child.exited).toEqual({ code: 0, signal: null });
  });

  it('in failover no channel opens (authority frozen, draft §11.3), and one does after the re-stitch', async () => {
    // Without standby stitches: the session waits in failover for its JOIN at the other RN.
    const { initiator } = await connected(false);
    const frozen = new Promise<void>((resolve) => initiator.once('failover', () => resolve()));
    const back = new Promise<void>((resolve) => initiator.once('restitched', () => resolve()));
    signalProcess(rnOf(initiator).child, 'SIGKILL');
    await frozen;
    expect(initiator.state).toBe('failover');
    expect(() => initiator.openChannel()).toThrow(expect.objectContaining({ code: 'SESSION_FROZEN' }));
    await back;
    expect(initiator.openChannel().id).toBeGreaterThan(0);
    initiator.close();
  });

  it('with a standby stitch held at both ends, SIGKILL of the carrying RN moves the session onto it with no JOIN after the kill', async () => {
    const { initiator, responder, opPool } = await connected();
    await until(() => initiator.standbyRnCid !== undefined && responder.standbyRnCid !== undefined, 'a standby stitch at both ends');
    const standbyRn = initiator.standbyRnCid!;
    expect(equal(standbyRn, rnOf(initiator).id.cid)).toBe(false);
    expect(responder.standbyRnCid).toEqual(standbyRn);
    let joins = 0;
    const join = opPool.join.bind(opPool);
    opPool.join = (...args: Parameters<LinkPool['join']>) => {
      joins++;
      return join(...args);
    };
    const up = initiator.openChannel();
    let down: Channel | undefined;
    responder.once('channel', (ch: Channel) => (down = ch));
    await up.send(numbered(0));
    await until(() => down !== undefined, 'channel at the responder');
    const atResponder = counter(down!);
    // The JOINs counted at the move itself, ahead of every other listener: right after it the
    // session seeks a new standby, and when the responder moved first (its block on the standby is
    // what moves us) the dying RN still counts as attached here, so that JOIN can start at once.
    const moved = new Promise<{ rn: Uint8Array; joins: number }>((resolve) => initiator.prependOnceListener('restitched', (_g: number, rn: Uint8Array) => resolve({ rn, joins })));
    signalProcess(rnOf(initiator).child, 'SIGKILL');
    const m = await moved;
    expect(m.rn).toEqual(standbyRn);
    expect(m.joins).toBe(0); // moved without a JOIN (a new standby may be sought afterwards)
    expect([initiator.state, initiator.rnCid]).toEqual(['stitched', standbyRn]);
    await until(() => responder.rnCid !== undefined && equal(responder.rnCid, standbyRn), 'the responder on the standby too');
    for (let i = 1; i <= 50; i++) await up.send(numbered(i));
    await until(() => atResponder.got.length === 50, 'messages after the move');
    expect(atResponder.got).toEqual([...Array(50).keys()].map((k) => k + 1));
    initiator.close();
  });
});
