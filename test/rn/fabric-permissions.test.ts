// The NATS permissions docs/SCALE.md gives each RN (taken from the document itself, placeholders
// filled in): a real nats-server with one user per RN under exactly that block. Two Fabrics route a
// JOIN, carry frames both ways and an UNSTITCH, the egress restarted answers the ingress's probe
// (probe-answers.ts), and the ingress finds the egress gone once it left (its probes' "no
// responders", far-rns.ts); and under the same rights an RN's user cannot read
// another RN's hop subject or replies, nor every JOIN request of the domain outside the queue group.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { Fabric } from '../../src/rn/fabric/fabric.js';
import { silentLog } from '../../src/rn/log.js';
import { RnStats } from '../../src/rn/stats.js';
import { Switchboard, type Peer } from '../../src/rn/switchboard.js';
import { toHex } from '../../src/uzp/bytes.js';
import { x25519PrivateFromEd25519Seed } from '../../src/uzp/crypto/ed-to-x25519.js';
import { nodeProvider } from '../../src/uzp/crypto/node.js';
import { cidOf } from '../../src/uzp/identity/cid.js';
import { ControlKind, FrameType, UnstitchCode } from '../../src/uzp/link/constants.js';
import type { ControlMessage } from '../../src/uzp/link/control.js';
import { freeLoopbackPort } from '../helpers/free-port.js';
import { natsServerPath } from '../helpers/nats-cluster.js';
import { spawnProgram, stopProcess } from '../helpers/processes.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const until = async (cond: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
  if (!cond()) throw new Error(`timed out: ${what}`);
};

/** The user line of the documented block, for RN `name` with CID `cid`, in domain `domain`. */
function documentedUser(domain: string, name: string, cid: string, password: string): string {
  const scale = readFileSync(new URL('../../docs/SCALE.md', import.meta.url), 'utf8');
  const line = scale.split('\n').find((l) => l.trim().startsWith('{ user: rn1,'));
  if (line === undefined) throw new Error('docs/SCALE.md: no user line in the NATS credentials block');
  return line.replaceAll('<domain>', domain).replaceAll('<rn1 cid>', cid).replace('user: rn1', `user: ${name}`).replace('"…"', JSON.stringify(password));
}

function rnParts() {
  const seed = nodeProvider.randomBytes(32);
  const signer = nodeProvider.signer(seed);
  const stats = new RnStats();
  return { signer, x25519Private: x25519PrivateFromEd25519Seed(nodeProvider, seed), cid: cidOf(nodeProvider, signer.publicKey), stats, sb: new Switchboard({ trust: {} as never, stats, log: silentLog }) };
}

let ids = 0;
function link(): Peer & { readonly control: ControlMessage[]; readonly data: Uint8Array[] } {
  const control: ControlMessage[] = [];
  const data: Uint8Array[] = [];
  return { cid: nodeProvider.randomBytes(32), linkId: ++ids, control, data, congested: false, sendControl: (m) => void control.push(m), sendData: (f) => void data.push(f instanceof Uint8Array ? f.slice() : Buffer.concat(f as Uint8Array[])), holdFor: () => {}, onRelieved: () => {}, markStuck: () => {} };
}

function relayFrame(stitch: number, body: Uint8Array) {
  const raw = new Uint8Array(9 + body.length);
  new DataView(raw.buffer).setUint32(0, 5 + body.length);
  raw[4] = FrameType.RELAY;
  new DataView(raw.buffer).setUint32(5, stitch);
  raw.set(body, 9);
  return { type: FrameType.RELAY, payload: raw.subarray(5), raw } as never;
}

/**
 * Whether the server refuses `nc` a subscription to `subject` (in `queue`, if given): it answers the
 * SUB with a permissions violation before the PONG of the flush that follows.
 */
async function denied(nc: NatsConnection, subject: string, queue?: string): Promise<boolean> {
  let err: unknown;
  const sub = nc.subscribe(subject, { ...(queue !== undefined ? { queue } : {}), callback: (e) => void (err ??= e ?? undefined) });
  await nc.flush();
  await new Promise((r) => setImmediate(r));
  sub.unsubscribe();
  return err !== undefined && /permission/i.test(String(err));
}

/** Whether `nc` receives what it publishes to `subject` through a subscription (in `queue`, if given). */
async function delivered(nc: NatsConnection, subject: string, queue?: string): Promise<boolean> {
  let got = false;
  const sub = nc.subscribe(subject, { ...(queue !== undefined ? { queue } : {}), callback: (e) => void (got ||= e === null) });
  await nc.flush();
  nc.publish(subject, Uint8Array.of(0));
  await until(() => got, `a message on ${subject}`);
  sub.unsubscribe();
  return got;
}

describe('the NATS permissions docs/SCALE.md gives each RN', () => {
  it('are enough for a fabric, and keep an RN out of other RNs\' hop and reply subjects and out of JOINs outside the queue group', async () => {
    const domain = toHex(nodeProvider.randomBytes(32));
    const ingress = rnParts();
    const egress = rnParts();
    const dir = mkdtempSync(join(tmpdir(), 'uzp-nats-perm-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const conf = join(dir, 'nats.conf');
    writeFileSync(conf, `authorization { users = [\n${documentedUser(domain, 'rn-in', toHex(ingress.cid), 'pass-in')}\n${documentedUser(domain, 'rn-eg', toHex(egress.cid), 'pass-eg')}\n] }\n`);
    const port = await freeLoopbackPort();
    const server = spawnProgram(natsServerPath()!, ['-a', '127.0.0.1', '-p', String(port), '-c', conf]);
    cleanups.push(() => stopProcess(server));
    await until(() => server.stderr().includes('Server is ready'), 'the NATS server');
    const url = `nats://127.0.0.1:${port}`;

    const keys = new Map([ingress, egress].map((r) => [toHex(r.cid), r.signer.publicKey]));
    const fabrics: (Fabric | undefined)[] = [];
    const start = async (r: ReturnType<typeof rnParts>, user: string, pass: string): Promise<Fabric | undefined> => {
      const f = await Fabric.start({ servers: [url], user, pass, rnCid: r.cid, signer: r.signer, x25519Private: r.x25519Private, provider: nodeProvider, domain, rnKey: (c) => keys.get(toHex(c)), log: silentLog, stats: r.stats }, r.sb, new AbortController().signal);
      cleanups.push(() => f?.close());
      return f;
    };
    fabrics.push(await start(ingress, 'rn-in', 'pass-in'), await start(egress, 'rn-eg', 'pass-eg'));
    const T = link();
    egress.sb.attach(T);
    egress.sb.setAccepting(T);
    const O = link();
    ingress.sb.attach(O);
    // JOIN across until the gateway's presence is on the server.
    const across = ingress.sb as unknown as { joinAcross(p: Peer, m: object, refuse: () => void): void };
    let joinId = 1;
    const joined = (): number => O.control.filter((m) => m.kind === ControlKind.JOINED).length;
    const stitchAcross = async (): Promise<number> => {
      for (const had = joined(); joined() === had; joinId++) {
        let answered = false;
        across.joinAcross(O, { kind: ControlKind.JOIN, joinId, target: T.cid, grant: new Uint8Array(8), ch1: new Uint8Array(8) }, () => (answered = true));
        await until(() => answered || joined() > had, 'an answer');
        if (joinId === 200) throw new Error('never joined');
      }
      return (O.control.filter((m) => m.kind === ControlKind.JOINED).at(-1) as { stitchId: number }).stitchId;
    };
    const stitch = await stitchAcross();
    const egressStitch = (T.control.find((m) => m.kind === ControlKind.OFFER_VIA) as { stitchId: number }).stitchId;
    ingress.sb.relay(O, relayFrame(stitch, Uint8Array.of(1)));
    await until(() => T.data.length === 1, 'a frame to the gateway');
    egress.sb.relay(T, relayFrame(egressStitch, Uint8Array.of(2)));
    await until(() => O.data.length === 1, 'a frame back');
    egress.sb.unstitch(T, egressStitch, UnstitchCode.CLOSED);
    await until(() => O.control.some((m) => m.kind === ControlKind.UNSTITCH), 'the UNSTITCH');
    expect([ingress.stats.fabric.malformed, ingress.stats.fabric.hopRefused, egress.stats.fabric.hopRefused]).toEqual([0, 0, 0]);
    // The egress restarts, its stitches gone with it: it answers the ingress's probe on the probe's
    // reply subject (its reply.> rights), and the ingress ends its half (probe-answers.ts).
    const orphan = await stitchAcross();
    await fabrics[1]!.close();
    egress.sb = new Switchboard({ trust: {} as never, stats: egress.stats, log: silentLog });
    fabrics[1] = await start(egress, 'rn-eg', 'pass-eg');
    egress.sb.attach(T);
    egress.sb.setAccepting(T);
    await until(() => O.control.some((m) => m.kind === ControlKind.UNSTITCH && m.stitchId === orphan), 'the stitch the restarted RN does not have ended');
    expect(O.control.find((m) => m.kind === ControlKind.UNSTITCH && m.stitchId === orphan)).toMatchObject({ code: UnstitchCode.FAR_RN_GONE });
    expect([ingress.stats.fabric.unknownStitches, ingress.stats.fabric.rnsLost]).toEqual([1, 0]);
    // The egress leaves NATS with a stitch up and says nothing: its hop subject has no subscriber,
    // which the ingress learns from the probes' reply subject (its own reply.<cid>.> rights).
    const second = await stitchAcross();
    await fabrics[1]!.close();
    await until(() => O.control.some((m) => m.kind === ControlKind.UNSTITCH && m.stitchId === second), 'the stitch with the RN that left ended');
    expect(O.control.find((m) => m.kind === ControlKind.UNSTITCH && m.stitchId === second)).toMatchObject({ code: UnstitchCode.FAR_RN_GONE });
    expect(ingress.stats.fabric.rnsLost).toBe(1);

    // The ingress RN's user, as a leaked password would give it to someone.
    const leaked = await connect({ servers: url, user: 'rn-in', pass: 'pass-in' });
    cleanups.push(() => leaked.close());
    expect(await denied(leaked, `uzp.${domain}.hop.${toHex(egress.cid)}`)).toBe(true);
    expect(await denied(leaked, `uzp.${domain}.reply.${toHex(egress.cid)}.>`)).toBe(true);
    expect(await denied(leaked, `uzp.${domain}.join.>`)).toBe(true);
    expect(await denied(leaked, `uzp.other.hop.${toHex(ingress.cid)}`)).toBe(true);
    // What the ingress RN needs goes through (the check above can tell the two apart).
    expect(await denied(leaked, `uzp.${domain}.hop.${toHex(ingress.cid)}`)).toBe(false);
    expect(await delivered(leaked, `uzp.${domain}.hop.${toHex(ingress.cid)}`)).toBe(true);
    expect(await delivered(leaked, `uzp.${domain}.join.${toHex(nodeProvider.randomBytes(32))}`, 'rn')).toBe(true);
    expect(await delivered(leaked, `uzp.${domain}.reply.${toHex(ingress.cid)}.${toHex(nodeProvider.randomBytes(12))}`)).toBe(true);
  });
});
