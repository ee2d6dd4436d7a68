// A far RN that is gone (src/rn/fabric/far-rns.ts; docs/PROFILE.md §Fabric "Liveness of the far
// RN"), with real processes on loopback: one nats-server and three `uzpgw rn --fabric` processes
// (test/helpers/fabric-rig.ts). The operator is attached to RN 0 only, the gateway to RNs 1 and 2, so
// every session crosses the fabric. Both have continuity with PoR off: the operator cannot find a
// dead path itself, so when its session fails over, only its RN can have said so (UNSTITCH code 4,
// FAR_RN_GONE, and RN 0's `fabric_rn_lost` with the reason, or `fabric_stitches_unknown`). Before,
// RN 0 kept its half of every stitch with a dead RN up and the operator's session sat in `stitched`
// for good.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../src/uzp/bytes.js';
import type { CodedError } from '../../src/lib/errors.js';
import { Endpoint } from '../../src/uzp/endpoint.js';
import { LinkPool } from '../../src/uzp/link/link-pool.js';
import type { Channel } from '../../src/uzp/session/channel.js';
import type { Session } from '../../src/uzp/session/session.js';
import type { Member } from '../helpers/domain.js';
import { FabricRig, roleFor } from '../helpers/fabric-rig.js';
import { signalProcess } from '../helpers/processes.js';

let rig: FabricRig;
const pools: LinkPool[] = [];

beforeAll(async () => {
  rig = await FabricRig.start(3, { natsNodes: 1 });
}, 60_000);

afterAll(async () => {
  for (const p of pools) p.stop();
  // A stopped RN cannot be stopped by SIGTERM: continued first, whatever a failed test left.
  for (const rn of rig?.rns ?? []) if (rn.proc.exitCode === null && rn.proc.signalCode === null) signalProcess(rn, 'SIGCONT');
  await rig?.close();
});

async function until(what: string, f: () => boolean | Promise<boolean>, timeoutMs = 40_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** An endpoint on the RNs `rns`, with continuity whose PoR is off and without standby stitches. */
function pooled(m: Member, rns: number[], accept: boolean): { ep: Endpoint; pool: LinkPool } {
  const trust = rig.trustFor();
  const pool = new LinkPool({ trust, identity: { seed: m.id.seed, pcert: m.pcert }, accept, backoffBaseMs: 50, backoffCapMs: 500, rnRole: roleFor(rns) });
  pools.push(pool);
  const ep = new Endpoint({ trust, identity: { cid: m.id.cid, signer: m.id.signer, pcert: m.pcert }, link: pool, continuity: { trust, por: false, standby: false, windowMs: 60_000 } });
  pool.start();
  return { ep, pool };
}

/** JOIN until the gateway's presence has reached RN 0 through NATS (a moment after ACCEPT). */
async function connect(op: Endpoint, gw: Member, grant: Uint8Array): Promise<Session> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op.connect(gw.id.cid, grant);
    } catch (e) {
      if ((e as CodedError).code !== 'PEER_NOT_ATTACHED' || attempt === 80) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const stitchedAt = (i: number): number => rig.rns[i]!.stderr().split('stitched across the fabric').length - 1;

/** The `event` lines RN `i` logged after `mark` (a length of its stderr). */
function loggedSince(i: number, mark: number, event: string): Record<string, unknown>[] {
  return rig.rns[i]!.stderr()
    .slice(mark)
    .split('\n')
    .filter((l) => l.includes(`"event":"${event}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** `fabric_rn_lost` lines RN `i` logged after `mark`. */
const lostSince = (i: number, mark: number): Record<string, unknown>[] => loggedSince(i, mark, 'fabric_rn_lost');

interface Crossing {
  readonly initiator: Session;
  readonly responder: Session;
  /** Every failover of the initiator, by its reason. */
  readonly failovers: string[];
  /** Messages (a counter) the responder got, in order. */
  readonly got: number[];
  send(): void;
}

/**
 * A gateway on RNs 1 and 2 and an operator on RN 0 with `n` sessions; each session's egress RN is
 * whichever the NATS queue group picked. Resolves with the sessions and which RN carries each.
 */
async function sessions(n: number): Promise<{ crossings: Crossing[]; carrier: number[] }> {
  const gw = rig.d.member('gateway');
  const op = rig.d.member('operator');
  const g = pooled(gw, [1, 2], true);
  const o = pooled(op, [0], false);
  const accepted: Session[] = [];
  g.ep.on('session', (s: Session) => accepted.push(s));
  g.ep.accept();
  await until('the gateway on RNs 1 and 2, the operator on RN 0', () => g.pool.links.length === 2 && o.pool.links.length === 1);
  const crossings: Crossing[] = [];
  const carrier: number[] = [];
  for (let k = 0; k < n; k++) {
    const before = [1, 2].map(stitchedAt);
    const initiator = await connect(o.ep, gw, rig.d.grant(op.id.cid, gw.id.cid));
    await until('the responder session', () => accepted.length === k + 1);
    const responder = accepted[k]!;
    await until('the egress RN logging the stitch', () => [1, 2].some((i, j) => stitchedAt(i) > before[j]!));
    carrier.push([1, 2].find((i, j) => stitchedAt(i) > before[j]!)!);
    const failovers: string[] = [];
    initiator.on('failover', (reason: Error) => failovers.push(reason.message));
    const got: number[] = [];
    responder.once('channel', (ch: Channel) => ch.on('message', (m: Uint8Array) => got.push((m[0]! << 8) | m[1]!)));
    const ch = initiator.openChannel();
    let sent = 0;
    const send = (): void => {
      const i = sent++;
      void ch.send(Uint8Array.of(i >> 8, i & 0xff)).catch(() => undefined);
    };
    crossings.push({ initiator, responder, failovers, got, send });
  }
  return { crossings, carrier };
}

/** Three sessions, made again (at most five times) until at least `atLeast` of them ride on RN 1 (the queue group picks the egress). */
async function sessionsOnRn1(atLeast: number): Promise<{ crossings: Crossing[]; carrier: number[] }> {
  let made = await sessions(3);
  for (let tries = 0; made.carrier.filter((c) => c === 1).length < atLeast && tries < 5; tries++) {
    for (const c of made.crossings) c.initiator.close();
    made = await sessions(3);
  }
  return made;
}

describe('a far RN that is gone', () => {
  it('stopped for a moment (slow, not gone): its stitches are kept, nothing fails over', async () => {
    const { crossings, carrier } = await sessions(2);
    for (const c of crossings) c.send();
    await until('the first messages across', () => crossings.every((c) => c.got.length === 1));
    const far = carrier[0]!;
    const mark = rig.rns[0]!.stderr().length;
    signalProcess(rig.rns[far]!, 'SIGSTOP');
    // Sent while the RN is stopped: held in its sockets, or lost and sent again end to end.
    for (const c of crossings) c.send();
    await new Promise((r) => setTimeout(r, 3_000));
    signalProcess(rig.rns[far]!, 'SIGCONT');
    for (const c of crossings) c.send();
    await until('every message across after the RN resumed', () => crossings.every((c) => c.got.length === 3));
    for (const c of crossings) expect(c.got).toEqual([0, 1, 2]);
    for (const c of crossings) expect(c.failovers).toEqual([]);
    expect(crossings.every((c) => c.initiator.state === 'stitched')).toBe(true);
    expect(lostSince(0, mark)).toEqual([]);
    for (const c of crossings) c.initiator.close();
  }, 60_000);

  it('no longer eligible (the RN Set Statement RN 0 holds no longer lists it): RN 0 ends its half of every stitch with it; the operator hears UNSTITCH 4', async () => {
    const { crossings, carrier } = await sessions(2);
    for (const c of crossings) c.send();
    await until('the first messages across', () => crossings.every((c) => c.got.length === 1));
    const far = carrier[0]!;
    const mark = rig.rns[0]!.stderr().length;
    // The statement every RN reads, replaced (they reload it on change) by one without that RN.
    await rig.setRnSet([0, 1, 2].filter((i) => i !== far));
    try {
      const onIt = crossings.filter((_, k) => carrier[k] === far);
      await until('the operator sessions on that RN failing over', () => onIt.every((c) => c.failovers.length > 0));
      for (const c of onIt) expect(c.failovers[0]).toMatch(/\(UNSTITCH code 4\)/);
      const lost = lostSince(0, mark);
      expect(lost).toHaveLength(1);
      expect(lost[0]).toMatchObject({ rn: toHex(rig.rnIds[far]!.cid), reason: 'ineligible' });
    } finally {
      await rig.setRnSet([0, 1, 2]);
    }
    for (const c of crossings) c.initiator.close();
  }, 90_000);

  it('stopped (SIGSTOP) past the bound: RN 0 hears nothing from it and ends its half of every stitch with it; the operator hears UNSTITCH 4 and re-stitches', async () => {
    const { crossings, carrier } = await sessions(2);
    for (const c of crossings) c.send();
    await until('the first messages across', () => crossings.every((c) => c.got.length === 1));
    const far = carrier[0]!;
    const other = far === 1 ? 2 : 1;
    const mark = rig.rns[0]!.stderr().length;
    signalProcess(rig.rns[far]!, 'SIGSTOP');
    try {
      const onIt = crossings.filter((_, k) => carrier[k] === far);
      // Its NATS presence stays (the server pings it only every 2 minutes): only its silence tells.
      await until('the operator sessions on the stopped RN failing over', () => onIt.every((c) => c.failovers.length > 0), 60_000);
      for (const c of onIt) expect(c.failovers[0]).toMatch(/the other RN of this stitch across the fabric is gone \(UNSTITCH code 4\)/);
      const lost = lostSince(0, mark);
      expect(lost).toHaveLength(1);
      expect(lost[0]).toMatchObject({ rn: toHex(rig.rnIds[far]!.cid), reason: 'silent' });
      for (const c of crossings.filter((_, k) => carrier[k] === other)) expect(c.failovers).toEqual([]);
      await until('the sessions re-stitched', () => crossings.every((c) => c.initiator.state === 'stitched' && c.responder.state === 'stitched'), 60_000);
      for (const c of crossings) c.send();
      await until('a message after the re-stitch on every session', () => crossings.every((c) => c.got.length === 2));
      for (const c of crossings) expect(c.got).toEqual([0, 1]);
    } finally {
      signalProcess(rig.rns[far]!, 'SIGCONT');
    }
    for (const c of crossings) c.initiator.close();
  }, 150_000);

  it('killed (SIGKILL): RN 0 ends its half of every stitch with it at once, one log line for the RN; the operator hears UNSTITCH 4 and its continuity re-stitches through RN 2', async () => {
    // Sessions until at least two ride on RN 1 (the queue group picks the egress).
    const { crossings, carrier } = await sessionsOnRn1(2);
    const onDead = crossings.filter((_, k) => carrier[k] === 1);
    expect(onDead.length).toBeGreaterThanOrEqual(2);
    for (const c of crossings) c.send();
    await until('the first messages across', () => crossings.every((c) => c.got.length === 1));
    const mark = rig.rns[0]!.stderr().length;
    await rig.killRn(1);
    await until('the operator sessions on RN 1 failing over', () => onDead.every((c) => c.failovers.length > 0));
    for (const c of onDead) expect(c.failovers[0]).toMatch(/the other RN of this stitch across the fabric is gone \(UNSTITCH code 4\)/);
    // Found by NATS presence (nobody receives RN 1's hop subject), logged once for all its stitches.
    const lost = lostSince(0, mark);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ rn: toHex(rig.rnIds[1]!.cid), reason: 'absent' });
    // Every stitch RN 0 had with RN 1 (across every operator of this rig that is still up).
    expect(lost[0]!.stitches).toBeGreaterThanOrEqual(onDead.length);
    // Sessions on RN 2 are untouched; those on RN 1 re-stitched through RN 2 and carry on, in order.
    for (const c of crossings.filter((_, k) => carrier[k] === 2)) expect(c.failovers).toEqual([]);
    await until('the sessions re-stitched', () => crossings.every((c) => c.initiator.state === 'stitched' && c.responder.state === 'stitched'));
    for (const c of crossings) c.send();
    await until('a message after the re-stitch on every session', () => crossings.every((c) => c.got.length === 2));
    for (const c of crossings) expect(c.got).toEqual([0, 1]);
    for (const c of crossings) c.initiator.close();
    await rig.restartRn(1);
  }, 90_000);

  // Started again at once (244 ms here), it is never found absent, and the new process has none of
  // the stitches. Before, RN 0 kept its halves until it found it silent (20 s: the sessions stalled
  // that long), or for good once a new stitch joined the two RNs (the new RN then probes RN 0).
  it('killed and started again at once: the new RN 1 answers RN 0\'s probe that it does not have the stitch, RN 0 checks them all and ends its halves, one log line; the operator hears UNSTITCH 4 and re-stitches', async () => {
    const { crossings, carrier } = await sessionsOnRn1(1);
    const onRestarted = crossings.filter((_, k) => carrier[k] === 1);
    expect(onRestarted.length).toBeGreaterThanOrEqual(1);
    for (const c of crossings) c.send();
    await until('the first messages across', () => crossings.every((c) => c.got.length === 1));
    const mark = rig.rns[0]!.stderr().length;
    await rig.killRn(1);
    await rig.restartRn(1);
    await until('the operator sessions on RN 1 failing over', () => onRestarted.every((c) => c.failovers.length > 0));
    for (const c of onRestarted) expect(c.failovers[0]).toMatch(/the other RN of this stitch across the fabric is gone \(UNSTITCH code 4\)/);
    // Not by silence. By its answer; or, where the restart took over a second (a loaded box), by
    // its absence first.
    const lost = lostSince(0, mark);
    expect(lost.filter((l) => l.reason !== 'absent')).toEqual([]);
    if (lost.length === 0) {
      const unknown = loggedSince(0, mark, 'fabric_stitches_unknown');
      expect(unknown).toEqual([expect.objectContaining({ rn: toHex(rig.rnIds[1]!.cid) })]);
      expect(unknown[0]!.stitches).toBeGreaterThanOrEqual(onRestarted.length);
    }
    console.info(`RN 1 killed and started again: RN 0 ended its halves on ${lost.length === 0 ? 'its answer' : 'its absence'}`);
    for (const c of crossings.filter((_, k) => carrier[k] === 2)) expect(c.failovers).toEqual([]);
    await until('the sessions re-stitched', () => crossings.every((c) => c.initiator.state === 'stitched' && c.responder.state === 'stitched'));
    for (const c of crossings) c.send();
    await until('a message after the re-stitch on every session', () => crossings.every((c) => c.got.length === 2));
    for (const c of crossings) expect(c.got).toEqual([0, 1]);
    for (const c of crossings) c.initiator.close();
  }, 90_000);
});
