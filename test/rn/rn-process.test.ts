// `uzpgw rn` as a real child process (dist/cli/main.js; `npm test` builds it first), driven by
// real EPs over 127.0.0.1. The child is stopped by its own pid.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeArtefactFile } from '../../src/files/artefact-file.js';
import { writeKeyFile } from '../../src/files/keyfile.js';
import { encodeTrustAnchor } from '../../src/files/trust-anchor.js';
import { decodeEnvelope } from '../../src/uzp/artefacts/envelope.js';
import { ErrorCode } from '../../src/uzp/errors.js';
import type { Identity } from '../../src/uzp/identity/identity.js';
import { ControlKind, FrameType, RefusedCode } from '../../src/uzp/link/constants.js';
import { parseAddress } from '../../src/uzp/link/address.js';
import { toHex } from '../../src/uzp/bytes.js';
import { encodeFrame } from '../../src/uzp/link/frame.js';
import { RnLink, type Offer } from '../../src/uzp/link/rn-link.js';
import type { Stitch } from '../../src/uzp/link/stitch.js';
import { TestDomain, type Member } from '../helpers/domain.js';
import { signalProcess, spawnCli, stopAll, stopProcess, waitForJsonLine, type Child } from '../helpers/processes.js';
import { freeLoopbackPort } from '../helpers/free-port.js';
import { once, until } from '../uzp/link/wait.js';
import { RawClient } from './raw-client.js';
import { errorOf } from '../helpers/errors.js';
import { CodedError } from '../../src/lib/errors.js';

let dir: string;
let d: TestDomain;
let rnId: Identity;
let files: { trust: string; key: string; revocations: string };
let child: Child;
let address: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'uzp-rn-'));
  d = new TestDomain(undefined, Date.now()); // the child validates against the real clock
  rnId = d.member('rn').id;
  files = { trust: join(dir, 'trust.json'), key: join(dir, 'rn.key'), revocations: join(dir, 'revocations.uzp') };
  writeFileSync(files.trust, encodeTrustAnchor({ domain: 'test', rootPublicKey: d.root.publicKey, rootCid: d.root.cid }));
  writeKeyFile(files.key, rnId);
  writeArtefactFile(files.revocations, d.revocation([]));
  child = spawnCli(['rn', '--listen', '127.0.0.1:0', '--trust', files.trust, '--key', files.key, '--revocations', files.revocations, '--log-level', 'debug']);
  const line = await waitForJsonLine<{ event: string; address: string }>(child, (v) => v.event === 'listening');
  address = line.address;
});

afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

const links: RnLink[] = [];
async function attach(m: Member): Promise<RnLink> {
  const trust = d.trust();
  trust.setRnSet(d.rnSet([{ id: rnId, addresses: [address] }]));
  const l = await RnLink.attach({ address, trust, identity: { seed: m.id.seed, pcert: m.pcert } });
  links.push(l);
  return l;
}

async function joinWhenAccepting(link: RnLink, target: Uint8Array, grant: Uint8Array): Promise<Stitch> {
  for (;;) {
    try {
      return await link.join(target, grant, Uint8Array.of(1));
    } catch (e) {
      if ((e as CodedError).code !== ErrorCode.PEER_NOT_ATTACHED) throw e;
    }
  }
}

function logged(event: string): boolean {
  return child.stderr().includes(`"event":"${event}"`);
}

async function sighupAndWait(): Promise<void> {
  const before = child.stderr().split('"event":"revocations_reloaded"').length;
  signalProcess(child, 'SIGHUP');
  await until(() => child.stderr().split('"event":"revocations_reloaded"').length > before, 'revocations reloaded');
}

describe('uzpgw rn (child process)', () => {
  const gw = () => gwMember;
  let gwMember: Member;
  let op: Member;
  let opLink: RnLink;
  let gwLink: RnLink;
  let banned: Member;

  it('prints exactly one JSON "listening" line with the real port', () => {
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(address.endsWith(':0')).toBe(false);
    expect(child.stdout().trim().split('\n')).toHaveLength(1);
  });

  it('two EPs attach, one accepts, the other joins with a valid Grant, payloads relay both ways', async () => {
    gwMember = d.member('gateway');
    op = d.member('operator');
    gwLink = await attach(gw());
    opLink = await attach(op);
    gwLink.accept();
    let responder: Stitch | undefined;
    gwLink.on('offer', (o: Offer) => (responder = o.accept()));
    const initiator = await joinWhenAccepting(opLink, gw().id.cid, d.grant(op.id.cid, gw().id.cid, { nonce: 100 }));
    await until(() => responder !== undefined);
    const atGw: number[] = [];
    const atOp: number[] = [];
    responder!.onPayload((p) => atGw.push(p[0]!));
    initiator.onPayload((p) => atOp.push(p[0]!));
    for (let i = 0; i < 10; i++) {
      initiator.send(Uint8Array.of(i));
      responder!.send(Uint8Array.of(100 + i));
    }
    await until(() => atGw.length === 10 && atOp.length === 10);
    expect(atGw).toEqual([...Array(10).keys()]);
    expect(atOp).toEqual([...Array(10).keys()].map((i) => 100 + i));

    // A third EP injecting RELAY frames for this stitch id: dropped, counted, logged at debug.
    const intruderTrust = d.trust();
    intruderTrust.setRnSet(d.rnSet([{ id: rnId, addresses: [address] }]));
    const intruder = await RawClient.attach(address, intruderTrust, d.member('operator'));
    intruder.sendRelay(initiator.id, Uint8Array.of(0xee));
    await until(() => logged('relay_dropped'), 'relay_dropped logged');
    initiator.send(Uint8Array.of(42));
    await until(() => atGw.length === 11);
    expect(atGw.at(-1)).toBe(42);
    intruder.close();
  });

  it('JOIN refused for a Grant for another audience or an expired Grant; an older Grant nonce is still accepted', async () => {
    const refused = async (grant: Uint8Array) => (await errorOf(opLink.join(gw().id.cid, grant, new Uint8Array(0)))).code;
    // The joiner learns what is wrong with its own Grant (JOIN_REFUSED 7 / 5), nothing more.
    expect(await refused(d.grant(op.id.cid, d.member('gateway').id.cid, { nonce: 101 }))).toBe(ErrorCode.GRANT_AUDIENCE);
    expect(await refused(d.grant(op.id.cid, gw().id.cid, { nonce: 102, notBefore: d.now - 2000, validSeconds: -1000 }))).toBe(ErrorCode.ARTEFACT_EXPIRED);
    expect(logged('join_refused')).toBe(true);
    // Issuing a newer Grant never disables an older valid one (nonces are ordered for early data only).
    await opLink.join(gw().id.cid, d.grant(op.id.cid, gw().id.cid, { nonce: 50 }), new Uint8Array(0));
  });

  it('revocation file + SIGHUP: a revoked Grant is refused, a revoked PCert cannot attach, an attached revoked link is closed', async () => {
    const grant = d.grant(op.id.cid, gw().id.cid, { nonce: 200 });
    const doomed = d.member('gateway');
    const doomedLink = await attach(doomed);
    const doomedClosed = once<CodedError | undefined>((cb) => doomedLink.once('close', cb));
    banned = d.member('gateway');
    writeArtefactFile(files.revocations, d.revocation([banned.id.cid, doomed.id.cid], [decodeEnvelope(d.provider, grant).objectId]));
    await sighupAndWait();
    expect((await errorOf(opLink.join(gw().id.cid, grant, new Uint8Array(0)))).code).toBe(ErrorCode.REVOKED);
    expect((await errorOf(attach(banned))).code).toBe(ErrorCode.ATTACH_REFUSED);
    expect((await doomedClosed)?.code).toBe(ErrorCode.LINK_CLOSED);
    // A valid Grant still works.
    await opLink.join(gw().id.cid, d.grant(op.id.cid, gw().id.cid, { nonce: 201 }), new Uint8Array(0));
  });

  it('a bad revocation file on SIGHUP keeps the current list', async () => {
    writeFileSync(files.revocations, 'not an artefact');
    signalProcess(child, 'SIGHUP');
    await until(() => logged('revocations_reload_failed'));
    expect((await errorOf(attach(banned))).code).toBe(ErrorCode.ATTACH_REFUSED); // still revoked
    await attach(d.member('gateway')); // and the RN still serves everyone else
  });

  it('sockets spraying junk do not crash the RN', async () => {
    const [host, port] = [address.split(':')[0]!, Number(address.split(':')[1])];
    const sprays = [Uint8Array.of(0xff, 0xff, 0xff, 0xff, 1), encodeFrame(FrameType.AUTH, new Uint8Array(90)), encodeFrame(0x55, new Uint8Array(2))];
    for (let i = 0; i < 30; i++) sprays.push(new Uint8Array(50 + i * 7).map(() => (Math.random() * 256) | 0));
    await Promise.all(
      sprays.map(
        (b) =>
          new Promise<void>((resolve) => {
            const s = connect({ host, port }, () => s.write(b));
            s.on('error', () => {});
            s.on('close', () => resolve());
            s.resume();
          }),
      ),
    );
    expect(child.proc.exitCode).toBeNull();
    await attach(d.member('gateway'));
  });

  it('a zero-length frame (4 length bytes, no type) is refused at once with REFUSED 1 and logged, before attachment', async () => {
    const { host, port } = parseAddress(address);
    const before = child.stderr().split('"code":"DECODE_LENGTH"').length;
    const received: Buffer[] = [];
    await new Promise<void>((resolve) => {
      const s = connect({ host, port }, () => s.write(Uint8Array.of(0, 0, 0, 0)));
      s.on('data', (b: Buffer) => received.push(b));
      s.on('error', () => {});
      s.on('close', () => resolve());
    });
    // Not the 5 s pre-auth deadline (which would close the socket without a word): REFUSED, code 1.
    expect(Buffer.concat(received).toString('hex')).toBe(toHex(encodeFrame(FrameType.REFUSED, Uint8Array.of(0, RefusedCode.REFUSED))));
    await until(() => child.stderr().split('"code":"DECODE_LENGTH"').length > before, 'attach_refused DECODE_LENGTH logged');
    expect(child.stderr()).toMatch(/"event":"attach_refused"[^\n]*"code":"DECODE_LENGTH"/);
  });

  it('a zero-length frame on an attached link closes the link at once, logged', async () => {
    const trust = d.trust();
    trust.setRnSet(d.rnSet([{ id: rnId, addresses: [address] }]));
    const raw = await RawClient.attach(address, trust, d.member('gateway'));
    raw.sendRaw(Uint8Array.of(0, 0, 0, 0));
    await raw.whenClosed();
    await until(() => /"event":"link_error"[^\n]*"code":"DECODE_LENGTH"/.test(child.stderr()), 'link_error DECODE_LENGTH logged');
  });

  it('an operator-role link that sends ACCEPT is closed (only gateways take the responder role); a gateway that does stays', async () => {
    const trust = d.trust();
    trust.setRnSet(d.rnSet([{ id: rnId, addresses: [address] }]));
    const operator = await RawClient.attach(address, trust, d.member('operator'));
    operator.sendControl({ kind: ControlKind.ACCEPT });
    await operator.whenClosed();
    await until(() => /"event":"link_error"[^\n]*"code":"PCERT_ROLE"/.test(child.stderr()), 'link_error PCERT_ROLE logged');
    const gateway = await RawClient.attach(address, trust, d.member('gateway'));
    gateway.sendControl({ kind: ControlKind.ACCEPT });
    gateway.sendControl({ kind: ControlKind.PING, nonce: 7 });
    expect((await gateway.control(ControlKind.PONG)).nonce).toBe(7); // answered after the ACCEPT: still attached
    expect(gateway.closed).toBe(false);
    gateway.close();
  });

  it('SIGTERM: closes links, exits 0, stdout still exactly one line, no stack trace', async () => {
    const closed = once<CodedError | undefined>((cb) => gwLink.once('close', cb));
    const r = await stopProcess(child, 'SIGTERM');
    expect(r).toEqual({ code: 0, signal: null });
    await closed;
    expect(child.stdout().trim().split('\n')).toHaveLength(1);
    expect(child.stderr()).toContain('"event":"stopped"');
    expect(child.stderr()).not.toMatch(/\n\s+at /);
    for (const l of links) l.close();
  });
});

describe('uzpgw rn: usage and file errors', () => {
  it('--help exits 0 and names every option', async () => {
    const c = spawnCli(['rn', '--help']);
    expect((await c.exited).code).toBe(0);
    for (const f of ['--listen', '--trust', '--key', '--rn-set', '--revocations', '--max-links', '--preauth-rate', '--preauth-burst', '--hello-rate', '--hello-burst', '--require-attestation', '--fabric', '--rn-id', '--fabric-user', '--fabric-password-file', '--log-level']) expect(c.stdout()).toContain(f);
  });

  // (The default bucket, burst 40, admits far more than three: the tests above attach more from 127.0.0.1.)
  it('--hello-rate / --hello-burst set the per-source HELLO bucket: a burst of 2 admits two quick attachments from 127.0.0.1 and refuses the third', async () => {
    const small = spawnCli(['rn', '--listen', '127.0.0.1:0', '--trust', files.trust, '--key', files.key, '--hello-rate', '1', '--hello-burst', '2', '--log-level', 'debug']);
    const { address: at } = await waitForJsonLine<{ address: string }>(small, (v) => v.event === 'listening');
    const trust = d.trust();
    trust.setRnSet(d.rnSet([{ id: rnId, addresses: [at] }]));
    const attachAt = (m: Member): Promise<RnLink> => RnLink.attach({ address: at, trust, identity: { seed: m.id.seed, pcert: m.pcert } });
    const ok = [await attachAt(d.member('gateway')), await attachAt(d.member('gateway'))];
    await expect(attachAt(d.member('gateway'))).rejects.toThrow();
    await until(() => small.stderr().includes('"event":"rate_limited"'), 'the RN logging the refusal');
    for (const l of ok) l.close();
    expect(await stopProcess(small)).toEqual({ code: 0, signal: null });
  });

  it('bad flags exit 2 with a clear message', async () => {
    for (const args of [['rn', '--bogus'], ['rn', '--listen', 'nope', '--trust', 'x', '--key', 'y'], ['rn', '--trust', 'x', '--key', 'y'], ['rn', '--listen', '127.0.0.1:0', '--trust', 'x', '--key', 'y', '--max-links', 'lots']]) {
      const c = spawnCli(args);
      expect((await c.exited).code, args.join(' ')).toBe(2);
      expect(c.stderr()).toMatch(/^uzpgw rn: .+\[USAGE\]\n$/);
    }
  });

  it('fabric flags: --fabric needs --rn-set and nats:// URLs; --rn-id and the NATS credentials need --fabric and each other (exit 2 before any file is read)', async () => {
    writeArtefactFile(join(dir, 'rn-set-fabric.uzp'), d.rnSet([{ id: rnId, addresses: ['127.0.0.1:1'] }]));
    const base = ['rn', '--listen', '127.0.0.1:0', '--trust', files.trust, '--key', files.key];
    // A key file that does not exist changes nothing: the flags are checked first (it was exit 1, FILE_NOT_FOUND).
    const noKey = spawnCli(['rn', '--listen', '127.0.0.1:0', '--trust', files.trust, '--key', join(dir, 'no-such.key'), '--rn-set', join(dir, 'rn-set-fabric.uzp'), '--fabric', 'nats://127.0.0.1:4222', '--rn-id', 'no spaces']);
    expect((await noKey.exited).code).toBe(2);
    expect(noKey.stderr()).toMatch(/^uzpgw rn: --rn-id: .+\[USAGE\]\n$/);
    const cases: [string[], RegExp][] = [
      [['--fabric', 'nats://127.0.0.1:4222'], /--fabric needs --rn-set/],
      [['--rn-set', join(dir, 'rn-set-fabric.uzp'), '--fabric', 'http://127.0.0.1:4222'], /expected nats:\/\/host:port/],
      [['--rn-id', 'rn1'], /--rn-id needs --fabric/],
      [['--rn-set', join(dir, 'rn-set-fabric.uzp'), '--fabric', 'nats://127.0.0.1:4222', '--fabric-user', 'rn1'], /go together/],
      [['--rn-set', join(dir, 'rn-set-fabric.uzp'), '--fabric', 'nats://127.0.0.1:4222', '--rn-id', 'no spaces'], /--rn-id/],
    ];
    for (const [extra, msg] of cases) {
      const c = spawnCli([...base, ...extra]);
      expect((await c.exited).code, extra.join(' ')).toBe(2);
      expect(c.stderr()).toMatch(msg);
    }
    // Well-formed flags, a password file that is not there: a file problem (exit 1), named by its flag.
    const noPass = spawnCli([...base, '--rn-set', join(dir, 'rn-set-fabric.uzp'), '--fabric', 'nats://127.0.0.1:4222', '--fabric-user', 'rn1', '--fabric-password-file', join(dir, 'no-such.pass')]);
    expect((await noPass.exited).code).toBe(1);
    expect(noPass.stderr()).toMatch(/^uzpgw rn: --fabric-password-file: .*no-such\.pass: no such file .*\[FILE_NOT_FOUND\]\n$/);
  });

  it('a fabric whose NATS servers are all unreachable: the RN serves, says so, keeps retrying, and SIGTERM still ends it at once', async () => {
    const dead = `nats://127.0.0.1:${await freeLoopbackPort()}`;
    writeArtefactFile(join(dir, 'rn-set-fabric.uzp'), d.rnSet([{ id: rnId, addresses: ['127.0.0.1:1'] }]));
    const rn = spawnCli(['rn', '--listen', '127.0.0.1:0', '--trust', files.trust, '--key', files.key, '--rn-set', join(dir, 'rn-set-fabric.uzp'), '--fabric', dead, '--drain-ms', '0']);
    await waitForJsonLine(rn, (v) => v.event === 'listening');
    await until(() => rn.stderr().includes('"event":"fabric_unreachable"'), 'the RN saying NATS is unreachable');
    const t0 = Date.now();
    expect(await stopProcess(rn)).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it('a port already in use exits 1 with a clear message', async () => {
    const first = spawnCli(['rn', '--listen', '127.0.0.1:0', '--trust', files.trust, '--key', files.key]);
    const { address: taken } = await waitForJsonLine<{ address: string }>(first, (v) => v.event === 'listening');
    const second = spawnCli(['rn', '--listen', taken, '--trust', files.trust, '--key', files.key]);
    expect((await second.exited).code).toBe(1);
    expect(second.stderr()).toMatch(/cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE \[CONFIG_INVALID\]/);
    expect(second.stderr()).not.toMatch(/\n\s+at /);
    expect(await stopProcess(first)).toEqual({ code: 0, signal: null });
  });

  it('unreadable files exit 1 naming the file, never a stack trace', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'uzp-rn-bad-'));
    try {
      const trust = join(tmp, 'trust.json');
      const key = join(tmp, 'rn.key');
      writeFileSync(trust, encodeTrustAnchor({ domain: 'x', rootPublicKey: d.root.publicKey, rootCid: d.root.cid }));
      writeKeyFile(key, rnId);
      const cases = [
        ['--trust', join(tmp, 'missing.json'), '--key', key],
        ['--trust', trust, '--key', join(tmp, 'missing.key')],
        ['--trust', key, '--key', key],
        ['--trust', trust, '--key', key, '--revocations', trust],
      ];
      for (const c of cases) {
        const p = spawnCli(['rn', '--listen', '127.0.0.1:0', ...c]);
        expect((await p.exited).code, c.join(' ')).toBe(1);
        expect(p.stderr()).toMatch(/^uzpgw rn: .+\[[A-Z_]+\]\n$/);
        expect(p.stdout()).toBe('');
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
