// The rendezvous fabric (issue #16) with real processes on loopback: a 3-node NATS cluster and three
// `uzpgw rn --fabric` processes of one trust domain (test/helpers/fabric-rig.ts). Endpoints are
// given RN Sets that put the two sides of a session on different RNs, so every session here crosses
// the fabric: EP A -> RN x -> NATS -> RN y -> EP B.

import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualLine } from '../../src/sim/virtual-line.js';
import { toHex } from '../../src/uzp/bytes.js';
import { writeArtefactFile } from '../../src/files/artefact-file.js';
import { writeKeyFile } from '../../src/files/keyfile.js';
import { equal } from '../../src/uzp/bytes.js';
import { LinkPool } from '../../src/uzp/link/link-pool.js';
import { signalProcess, spawnCli, spawnProgram, stopProcess, waitForJsonLine, type Child } from '../helpers/processes.js';
import { natsServerPath } from '../helpers/nats-cluster.js';
import { roleFor, waitForLog } from '../helpers/fabric-rig.js';
import { freeLoopbackPort } from '../helpers/free-port.js';
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
const pools: LinkPool[] = [];

beforeAll(async () => {
  rig = await FabricRig.start(3);
}, 60_000);

afterAll(async () => {
  for (const l of links) l.close();
  for (const p of pools) p.stop();
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
  const gwEp = await endpoint(gw, rig.trustFor(), gwRn);
  const accepted = new Promise<Session>((r) => gwEp.once('session', r));
  gwEp.accept();
  const opEp = await endpoint(op, rig.trustFor(), opRn);
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
      expect(rig.rns[0]!.stderr()).toMatch(/stitched across the fabric/);
      expect(rig.rns[1]!.stderr()).toMatch(/stitched across the fabric/);
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

async function until(what: string, f: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('routing and policy', () => {
  it('a JOIN for a CID no RN holds is refused at once (NATS "no responders"), not after a timeout', async () => {
    const op = rig.d.member('operator');
    const ghost = rig.d.member('gateway');
    const opEp = await endpoint(op, rig.trustFor(), 2);
    const t0 = performance.now();
    await expect(opEp.connect(ghost.id.cid, rig.d.grant(op.id.cid, ghost.id.cid))).rejects.toMatchObject({ code: 'PEER_NOT_ATTACHED' });
    // Far below the fabric's 3 s request timeout: the cluster knew nobody subscribes.
    expect(performance.now() - t0).toBeLessThan(1_500);
  });

  it('an RN that is not in the RN Set Statement the others hold cannot route a JOIN to them', async () => {
    // Signed by the domain's root like any RN, on the same cluster, listed only in its own RN Set.
    const rogue = rig.d.member('rn').id;
    writeKeyFile(rig.f('rogue.key'), rogue);
    const address = `127.0.0.1:${await freeLoopbackPort()}`;
    const ownSet = rig.d.rnSet([...rig.rnIds.map((id, i) => ({ id, addresses: [rig.addresses[i]!] })), { id: rogue, addresses: [address] }]);
    writeArtefactFile(rig.f('rogue-set.uzp'), ownSet);
    const child = spawnCli(['rn', '--listen', address, '--trust', rig.f('trust.json'), '--key', rig.f('rogue.key'), '--rn-set', rig.f('rogue-set.uzp'), '--fabric', rig.natsUrls(0), '--drain-ms', '0', '--log-level', 'info']);
    try {
      await waitForJsonLine(child, (v) => v.event === 'listening');
      await waitForLog(child, 'fabric_connected');
      const gw = rig.d.member('gateway');
      const gwEp = await endpoint(gw, rig.trustFor(), 0);
      gwEp.accept();
      const op = rig.d.member('operator');
      const t = rig.d.trust();
      t.setRnSet(ownSet);
      const link = await RnLink.attach({ address, trust: t, identity: { seed: op.id.seed, pcert: op.pcert } });
      links.push(link);
      const opEp = new Endpoint({ trust: t, identity: { cid: op.id.cid, signer: op.id.signer, pcert: op.pcert }, link });
      // Until the gateway's presence is seen, the refusal is PEER_NOT_ATTACHED; then RN 0 refuses the signer.
      let code = '';
      await until('the egress RN refusing the rogue ingress', async () => {
        code = await opEp.connect(gw.id.cid, rig.d.grant(op.id.cid, gw.id.cid)).then(
          () => 'stitched',
          (e: CodedError) => e.code,
        );
        return code !== 'PEER_NOT_ATTACHED';
      });
      expect(code).toBe('JOIN_REFUSED');
      expect(rig.rns[0]!.stderr()).toMatch(/"event":"fabric_join_refused".*not eligible under the current RN Set Statement/);
    } finally {
      await stopProcess(child);
    }
  });
});

describe('maintenance', () => {
  it('an RN told to drain (SIGTERM) withdraws its presence at once: new JOINs are no longer routed to it while it still relays', async () => {
    // A fourth RN joins the domain: the RN Set the others hold is replaced (they re-read it on change).
    const extra = rig.d.member('rn').id;
    writeKeyFile(rig.f('extra.key'), extra);
    const address = `127.0.0.1:${await freeLoopbackPort()}`;
    writeArtefactFile(rig.f('rn-set.uzp'), rig.d.rnSet([...rig.rnIds.map((id, i) => ({ id, addresses: [rig.addresses[i]!] })), { id: extra, addresses: [address] }]));
    const drainer = spawnCli(['rn', '--listen', address, '--trust', rig.f('trust.json'), '--key', rig.f('extra.key'), '--rn-set', rig.f('rn-set.uzp'), '--fabric', rig.natsUrls(1), '--drain-ms', '20000', '--log-level', 'info']);
    try {
      await waitForJsonLine(drainer, (v) => v.event === 'listening');
      await waitForLog(drainer, 'fabric_connected');
      const gw = rig.d.member('gateway');
      const t = rig.d.trust();
      t.setRnSet(rig.d.rnSet([{ id: extra, addresses: [address] }]));
      const link = await RnLink.attach({ address, trust: t, identity: { seed: gw.id.seed, pcert: gw.pcert } });
      links.push(link);
      new Endpoint({ trust: t, identity: { cid: gw.id.cid, signer: gw.id.signer, pcert: gw.pcert }, link }).accept();
      const op = rig.d.member('operator');
      const opEp = await endpoint(op, rig.trustFor(), 0);
      const probe = (): Promise<string> => opEp.connect(gw.id.cid, rig.d.grant(op.id.cid, gw.id.cid)).then((x) => (x.close(), 'stitched'), (e: CodedError) => e.code);
      await until('the extra RN accepted as a peer and its gateway reachable', async () => (await probe()) === 'stitched');
      signalProcess(drainer, 'SIGTERM');
      await waitForLog(drainer, 'draining');
      await until('no JOIN routed to the draining RN', async () => (await probe()) === 'PEER_NOT_ATTACHED', 5_000);
      // Still running, still holding its endpoint: only new stitches go elsewhere.
      expect(drainer.proc.exitCode).toBeNull();
      expect(link.attached).toBe(true);
    } finally {
      signalProcess(drainer, 'SIGKILL');
      await drainer.exited;
      writeArtefactFile(rig.f('rn-set.uzp'), rig.d.rnSet(rig.rnIds.map((id, i) => ({ id, addresses: [rig.addresses[i]!] }))));
    }
  }, 60_000);
});

describe('failures', () => {
  function pooled(m: Member, rns: number[], accept: boolean): { ep: Endpoint; pool: LinkPool } {
    const trust = rig.trustFor();
    const pool = new LinkPool({ trust, identity: { seed: m.id.seed, pcert: m.pcert }, accept, backoffBaseMs: 50, backoffCapMs: 500, rnRole: roleFor(rns) });
    pools.push(pool);
    const ep = new Endpoint({ trust, identity: { cid: m.id.cid, signer: m.id.signer, pcert: m.pcert }, link: pool, continuity: { trust, por: { intervalMs: 200, timeoutMs: 800 } } });
    pool.start();
    return { ep, pool };
  }

  it('kill -9 of the RN carrying the gateway side: its presence is gone within seconds, and the session fails over through another RN of the fabric, nothing lost', async () => {
    const gw = rig.d.member('gateway');
    const op = rig.d.member('operator');
    const g = pooled(gw, [1, 2], true);
    const o = pooled(op, [0], false);
    const responder = new Promise<Session>((r) => g.ep.once('session', r));
    g.ep.accept();
    await until('the gateway on RNs 1 and 2, the operator on RN 0', () => g.pool.links.length === 2 && o.pool.links.length === 1);
    const egressStitches = (i: number): number => rig.rns[i]!.stderr().split('stitched across the fabric').length - 1;
    const before = [1, 2].map(egressStitches);
    const initiator = await connect(o.ep, gw, rig.d.grant(op.id.cid, gw.id.cid));
    const resp = await responder;
    // Both sides name the ingress RN as the session's RN (OFFER_VIA): tokens and PoR agree on it.
    expect(equal(resp.rnCid!, rig.rnIds[0]!.cid) && equal(initiator.rnCid!, rig.rnIds[0]!.cid)).toBe(true);
    // The egress RN (one of the gateway's two, chosen by the NATS queue group) logged the stitch.
    const carrying = [1, 2].find((i, k) => egressStitches(i) > before[k]!)!;
    expect([1, 2]).toContain(carrying);
    // A second gateway attached to the carrying RN only: reachable across the fabric until that RN dies.
    const lone = rig.d.member('gateway');
    const loneEp = await endpoint(lone, rig.trustFor(), carrying);
    loneEp.accept();
    const prober = await endpoint(rig.d.member('operator'), rig.trustFor(), 0);
    const probe = (): Promise<string> => prober.connect(lone.id.cid, rig.d.grant((prober as unknown as { o: { identity: { cid: Uint8Array } } }).o.identity.cid, lone.id.cid)).then((s) => (s.close(), 'stitched'), (e: CodedError) => e.code);
    await until('the lone gateway reachable through the fabric', async () => (await probe()) === 'stitched');
    const got: number[] = [];
    resp.once('channel', (ch: Channel) => ch.on('message', (m: Uint8Array) => got.push((m[0]! << 8) | m[1]!)));
    const ch = initiator.openChannel();
    let sent = 0;
    const pump = setInterval(() => {
      const i = sent++;
      void ch.send(Uint8Array.of(i >> 8, i & 0xff)).catch(() => undefined);
    }, 10);
    try {
      await until('traffic flowing', () => got.length >= 20);
      const killedAt = performance.now();
      await rig.killRn(carrying);
      // Presence died with the RN's NATS connection: nothing to expire by hand.
      await until('the dead RN\'s presence gone', async () => (await probe()) === 'PEER_NOT_ATTACHED', 10_000);
      expect(performance.now() - killedAt).toBeLessThan(5_000);
      const other = carrying === 1 ? 2 : 1;
      const beforeOther = egressStitches(other);
      await until('the session re-stitched through the other RN', () => initiator.state === 'stitched' && resp.state === 'stitched' && egressStitches(other) > beforeOther, 20_000);
      const at = sent;
      await until('messages after the re-stitch arriving', () => got.length > at + 10, 20_000);
    } finally {
      clearInterval(pump);
    }
    await until('the last messages delivered', () => got.length === sent, 10_000);
    expect(got).toEqual(Array.from({ length: sent }, (_, i) => i));
    initiator.close();
    await rig.restartRn(carrying);
  }, 60_000);

  it('kill -9 of the NATS node under a busy cross-RN session: what the node held is lost on the hop and retransmitted end to end, every message arrives once and in order; the RN reconnects and new sessions cross the fabric', async () => {
    // The node RN 0 is on: it dials the URLs in the order given, its own node first.
    const server = String((await waitForLog(rig.rns[0]!, 'fabric_connected')).server);
    const node = rig.nats.nodes.findIndex((n) => n.url.endsWith(server));
    expect(node).toBeGreaterThanOrEqual(0);
    const busy = await crossPair(2, 0);
    const got: number[] = [];
    busy.responder.once('channel', (ch: Channel) => ch.on('message', (m: Uint8Array) => got.push((m[0]! << 8) | m[1]!)));
    const ch = busy.initiator.openChannel();
    let sent = 0;
    let perTick = 4;
    const pump = setInterval(() => {
      for (let k = 0; k < perTick && sent < 60_000; k++) {
        const i = sent++;
        const m = new Uint8Array(2048);
        m[0] = (i >> 8) & 0xff;
        m[1] = i & 0xff;
        void ch.send(m).catch(() => undefined);
      }
    }, 2);
    try {
      await until('traffic flowing across the fabric', () => got.length > 200);
      // The node frozen first, then a burst, then the kill: what the RN sent meanwhile sits in the
      // frozen node's socket buffers and dies with it. A burst alone, right up to the kill, still let
      // it land on an empty hop now and then (CI runs: 468 and 720 messages, nothing to retransmit).
      rig.nats.freeze(node);
      perTick = 32;
      await new Promise((r) => setTimeout(r, 20));
      await rig.nats.kill(node);
      perTick = 4;
      await waitForLog(rig.rns[0]!, 'fabric_reconnected', 20_000);
      const at = sent;
      await until('traffic flowing again after the reconnect', () => got.length > at + 200, 30_000);
    } finally {
      clearInterval(pump);
    }
    await until('every message delivered', () => got.length === sent, 30_000);
    expect(got).toEqual(Array.from({ length: sent }, (_, i) => i & 0xffff));
    // The loss was real and repaired by the endpoints, not by an RN: the sender retransmitted.
    console.info(`NATS node kill under load: ${sent} messages, ${busy.initiator.stats.retransmits} blocks retransmitted by the initiator`);
    expect(busy.initiator.stats.retransmits).toBeGreaterThan(0);
    busy.initiator.close();
    const p = await crossPair(2, 0);
    const back = collect(p.responder, 1);
    await p.initiator.openChannel().send(Uint8Array.of(1, 2, 3));
    expect(await back).toEqual([Uint8Array.of(1, 2, 3)]);
    p.initiator.close();
    await rig.nats.restart(node);
  }, 90_000);
});

describe('HIL traffic across the fabric', () => {
  it('a gateway process attached to RNs 1 and 2, `uzpgw connect … tail` attached to RN 0: readings of a serial sensor arrive in order', async () => {
    const gw = rig.d.member('gateway');
    const op = rig.d.member('operator');
    mkdirSync(rig.f('pty'), { recursive: true });
    const line = await VirtualLine.open({ baud: 9600, dir: rig.f('pty'), name: 'tty-1' });
    // Each side's RN Set lists only the RNs it may attach to: the session has to cross the fabric.
    writeArtefactFile(rig.f('gw-rn-set.uzp'), rig.d.rnSet([1, 2].map((i) => ({ id: rig.rnIds[i]!, addresses: [rig.addresses[i]!] }))));
    writeArtefactFile(rig.f('op-rn-set.uzp'), rig.d.rnSet([{ id: rig.rnIds[0]!, addresses: [rig.addresses[0]!] }]));
    writeKeyFile(rig.f('hil-gw.key'), gw.id);
    writeArtefactFile(rig.f('hil-gw.pcert'), gw.pcert);
    writeKeyFile(rig.f('hil-op.key'), op.id);
    writeArtefactFile(rig.f('hil-op.pcert'), op.pcert);
    writeArtefactFile(rig.f('hil-op.grant'), rig.d.grant(op.id.cid, gw.id.cid, { slot: 'tty-1', purposes: [{ purpose: 'serial.read' }] }));
    writeFileSync(
      rig.f('gateway.json'),
      JSON.stringify({
        kind: 'uzp-gw/gateway-config',
        identity: { key: 'hil-gw.key', pcert: 'hil-gw.pcert' },
        trust: { anchor: 'trust.json', rn_set: 'gw-rn-set.uzp' },
        board: 'virtual',
        virtual_dir: 'pty',
        attestation: { tpm: 'off' },
        slots: { 'tty-1': { device: { id: 'sensor-7', driver: 'serial-line', serial: { baud: 9600 } } } },
      }),
    );
    const gateway = spawnCli(['gateway', '--config', rig.f('gateway.json'), '--log-level', 'info']);
    try {
      await waitForJsonLine(gateway, (v) => v.event === 'rn.attached');
      const tail = spawnCli(['connect', '--key', rig.f('hil-op.key'), '--pcert', rig.f('hil-op.pcert'), '--trust', rig.f('trust.json'), '--rn-set', rig.f('op-rn-set.uzp'), '--grant', rig.f('hil-op.grant'), '--gateway', toHex(gw.id.cid), '--slot', 'tty-1', 'tail', '--count', '5', '--json']);
      // With --json, `connect` says {"event":"connected",…} on stderr once the slot is open.
      await waitForLog(tail, 'connected', 30_000);
      line.device!.write(Buffer.from('\n'));
      for (let i = 0; i < 5; i++) line.device!.write(Buffer.from(`T=${20 + i}.5\n`));
      const { code } = await tail.exited;
      expect(code, tail.stderr()).toBe(0);
      const lines = tail
        .stdout()
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { value: { line: string } }).value.line);
      expect(lines).toEqual(['T=20.5', 'T=21.5', 'T=22.5', 'T=23.5', 'T=24.5']);
      expect(rig.rns[0]!.stderr()).toMatch(/stitched across the fabric/);
    } finally {
      await stopProcess(gateway);
      await line.close();
    }
  }, 90_000);
});

describe('NATS credentials', () => {
  it('an RN with its own NATS user joins a server that requires one; with a wrong password it says so and keeps serving', async () => {
    const port = await freeLoopbackPort();
    const server = spawnProgram(natsServerPath()!, ['-a', '127.0.0.1', '-p', String(port), '--user', 'rn-a', '--pass', 's3cret-pass']);
    try {
      await until('the NATS server listening', () => server.stderr().includes('Server is ready'), 10_000);
      writeFileSync(rig.f('nats-ok.pass'), 's3cret-pass\n');
      writeFileSync(rig.f('nats-bad.pass'), 'wrong\n');
      const start = (pass: string): Child =>
        spawnCli(['rn', '--listen', '127.0.0.1:0', '--trust', rig.f('trust.json'), '--key', rig.f('rn0.key'), '--rn-set', rig.f('rn-set.uzp'), '--fabric', `nats://127.0.0.1:${port}`, '--fabric-user', 'rn-a', '--fabric-password-file', pass, '--drain-ms', '0']);
      const good = start(rig.f('nats-ok.pass'));
      const bad = start(rig.f('nats-bad.pass'));
      try {
        await waitForLog(good, 'fabric_connected');
        const refused = await waitForLog(bad, 'fabric_unreachable');
        expect(String(refused.reason)).toMatch(/auth/i);
        await waitForJsonLine(bad, (v) => v.event === 'listening');
      } finally {
        await stopProcess(good);
        await stopProcess(bad);
      }
    } finally {
      await stopProcess(server);
    }
  });
});
