// Live artefacts (issue #11), with a real gateway process and real RN processes on 127.0.0.1.
// The measured problem: an expired RN Set Statement bricks a running gateway after its next link
// drop — it dials only RNs of a currently valid statement, so with an expired one it dials none.
// Each scenario starts a gateway whose statement expires a few seconds after it attached (issued in
// the past: valid only through the 300 s skew), waits until it has expired, restarts the RN so the
// link drops, and checks the gateway cannot re-attach (RNSET_NOT_ELIGIBLE). Then:
//   (a) a renewed statement written to the gateway's file -> it re-attaches by itself (fs watch);
//   (b) the renewed statement given only to the RN (`uzpgw rn --rn-set`) -> the gateway gets it
//       through the RN (CONTROL ARTEFACT on a recovery link) and re-attaches; its file is untouched.
// A third scenario has an in-process RN offer the gateway forged, older, foreign and junk artefacts:
// each is refused (artefact.refused, the code says why), the link stays up, a valid newer one is adopted.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RendezvousNode } from '../../src/rn/server.js';
import { writeArtefactFile } from '../../src/files/artefact-file.js';
import { writeKeyFile } from '../../src/files/keyfile.js';
import { encodeTrustAnchor } from '../../src/files/trust-anchor.js';
import { EchoDevice } from '../../src/sim/echo-device.js';
import { PtyPair } from '../../src/sim/pty.js';
import { openSerial } from '../../src/sim/serial-open.js';
import { DEFAULT_SKEW_SECONDS } from '../../src/uzp/artefacts/constants.js';
import { decodeEnvelope } from '../../src/uzp/artefacts/envelope.js';
import { equal, toHex } from '../../src/uzp/bytes.js';
import type { CodedError } from '../../src/lib/errors.js';
import { ErrorCode } from '../../src/uzp/errors.js';
import type { Identity } from '../../src/uzp/identity/identity.js';
import { ControlKind } from '../../src/uzp/link/constants.js';
import { RnLink } from '../../src/uzp/link/rn-link.js';
import { TestDomain, type Member } from '../helpers/domain.js';
import { spawnCli, stopAll, stopProcess, waitForJsonLine, type Child } from '../helpers/processes.js';
import { until } from '../uzp/link/wait.js';

/** The first statement is issued this far in the past... */
const PAST_S = 2 * DEFAULT_SKEW_SECONDS;
/** ...and stays acceptable (through the skew) this long after the test starts: time for the gateway to start. */
const AHEAD_S = 25;

type Line = Record<string, unknown>;

/** Every JSON line the gateway wrote so far. */
function lines(c: Child): Line[] {
  const out: Line[] = [];
  for (const l of c.stdout().split('\n')) {
    try {
      const v = JSON.parse(l) as unknown;
      if (v !== null && typeof v === 'object') out.push(v as Line);
    } catch {
      // not a JSON line
    }
  }
  return out;
}

/** Waits for a line after the first `from` lines that matches; returns its index. */
async function lineAfter(c: Child, from: number, match: (v: Line) => boolean, what: string): Promise<number> {
  let at = -1;
  await until(() => {
    if (c.proc.exitCode !== null) throw new Error(`gateway exited while waiting for ${what}: ${c.stderr()}`);
    at = lines(c).findIndex((v, i) => i >= from && match(v));
    return at >= 0;
  }, what);
  return at;
}

interface Scenario {
  readonly dir: string;
  at(f: string): string;
  readonly d: TestDomain;
  readonly rnId: Identity;
  readonly gw: Member;
  readonly address: string;
  rn: Child;
  readonly gateway: Child;
  /** Wall time (ms) after which the first statement is refused even with the skew. */
  readonly expiredAtMs: number;
}

const cleanups: (() => unknown)[] = [];

function startRn(s: { at(f: string): string }, listen: string, rnSet?: string): Child {
  return spawnCli(['rn', '--listen', listen, '--trust', s.at('trust.json'), '--key', s.at('rn.key'), ...(rnSet !== undefined ? ['--rn-set', rnSet] : []), '--log-level', 'info']);
}

/** Trust files, a key and PCert for the gateway, one echo slot on a PTY, and its config (RN Set from `rnSet`). */
async function gatewayFiles(dir: string, d: TestDomain, gw: Member, rnSet: Uint8Array): Promise<(f: string) => string> {
  const at = (f: string): string => join(dir, f);
  writeKeyFile(at('gw.key'), gw.id);
  writeArtefactFile(at('gw.pcert'), gw.pcert);
  writeArtefactFile(at('rn-set.uzp'), rnSet);
  mkdirSync(at('pty'));
  mkdirSync(at('dev'));
  const pty = await PtyPair.open({ linkA: at('pty/tty-1'), linkB: at('dev/tty-1') });
  cleanups.push(() => pty.close());
  const port = await openSerial(pty.linkB, 115200);
  new EchoDevice(port);
  cleanups.push(() => new Promise<void>((r) => port.close(() => r())));
  writeFileSync(
    at('gateway.json'),
    JSON.stringify({
      kind: 'uzp-gw/gateway-config',
      identity: { key: 'gw.key', pcert: 'gw.pcert' },
      trust: { anchor: 'trust.json', rn_set: 'rn-set.uzp' },
      board: 'virtual',
      virtual_dir: 'pty',
      slots: { 'tty-1': { device: { id: 'echo-1', driver: 'serial-raw', serial: { baud: 115200 } } } },
    }),
  );
  return at;
}

function trustFiles(dir: string, d: TestDomain, rnId: Identity): void {
  writeFileSync(join(dir, 'trust.json'), encodeTrustAnchor({ domain: 'live', rootPublicKey: d.root.publicKey, rootCid: d.root.cid }));
  writeKeyFile(join(dir, 'rn.key'), rnId);
}

async function expiringGateway(): Promise<Scenario> {
  const dir = mkdtempSync(join(tmpdir(), 'uzp-live-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const d = new TestDomain(undefined, Date.now() - PAST_S * 1000);
  const rnId = d.member('rn').id;
  const gw = d.member('gateway');
  trustFiles(dir, d, rnId);
  const rn = startRn({ at: (f) => join(dir, f) }, '127.0.0.1:0');
  const address = (await waitForJsonLine<{ address: string }>(rn, (v) => v.event === 'listening')).address;
  const set = d.rnSet([{ id: rnId, addresses: [address] }], { validSeconds: PAST_S - DEFAULT_SKEW_SECONDS + AHEAD_S });
  const at = await gatewayFiles(dir, d, gw, set);
  const gateway = spawnCli(['gateway', '--config', at('gateway.json'), '--log-level', 'info']);
  await waitForJsonLine(gateway, (v) => v.event === 'rn.attached');
  const expiredAtMs = (decodeEnvelope(d.provider, set).expiresAt + DEFAULT_SKEW_SECONDS + 1) * 1000;
  return { dir, at, d, rnId, gw, address, rn, gateway, expiredAtMs };
}

/** Waits until the statement has expired, restarts the RN (same address; `rnSet` given to the new one) and checks the gateway cannot re-attach. */
async function expireAndDrop(s: Scenario, rnSet?: string): Promise<number> {
  while (Date.now() <= s.expiredAtMs) await sleep(Math.min(1000, s.expiredAtMs - Date.now() + 1));
  const mark = lines(s.gateway).length;
  await stopProcess(s.rn);
  await lineAfter(s.gateway, mark, (v) => v.event === 'rn.detached' && v.code === ErrorCode.RNSET_NOT_ELIGIBLE, 'no eligible RN after the drop');
  s.rn = startRn(s, s.address, rnSet);
  await waitForJsonLine(s.rn, (v) => v.event === 'listening');
  return mark;
}

/** The gateway takes stitches again: an operator's JOIN reaches its accepting link. */
async function joinable(s: Scenario, set: Uint8Array): Promise<void> {
  const op = s.d.member('operator');
  const trust = s.d.trust();
  trust.setRnSet(set);
  const link = await RnLink.attach({ address: s.address, trust, identity: { seed: op.id.seed, pcert: op.pcert } });
  try {
    for (;;) {
      try {
        (await link.join(s.gw.id.cid, s.d.grant(op.id.cid, s.gw.id.cid, { slot: 'tty-1' }), Uint8Array.of(1))).close();
        return;
      } catch (e) {
        if ((e as CodedError).code !== ErrorCode.PEER_NOT_ATTACHED) throw e;
        await sleep(20);
      }
    }
  } finally {
    link.close();
  }
}

afterAll(async () => {
  await stopAll();
  for (const c of cleanups.reverse()) await c();
});

describe('a gateway whose RN Set Statement expired', () => {
  let byFile: Scenario;
  let byRn: Scenario;

  beforeAll(async () => {
    [byFile, byRn] = await Promise.all([expiringGateway(), expiringGateway()]);
  }, 120_000);

  it('(a) re-attaches by itself once a renewed statement is written to its file', async () => {
    const s = byFile;
    const mark = await expireAndDrop(s);
    // The RN it knows holds nothing newer: the gateway may reach it only to ask, never for sessions.
    await lineAfter(s.gateway, mark, (v) => v.event === 'artefact.recovery_attached', 'recovery link');
    expect(lines(s.gateway).slice(mark).some((v) => v.event === 'rn.attached')).toBe(false);

    s.d.advance(PAST_S);
    const renewed = s.d.rnSet([{ id: s.rnId, addresses: [s.address] }]);
    writeArtefactFile(s.at('rn-set.uzp'), renewed); // temp file + rename, as `install` or an editor would
    const adopted = await lineAfter(s.gateway, mark, (v) => v.event === 'artefact.adopted' && v.artefact === 'rn-set', 'renewed statement adopted');
    expect(lines(s.gateway)[adopted]).toMatchObject({ source: 'file', file: s.at('rn-set.uzp'), object_id: toHex(decodeEnvelope(s.d.provider, renewed).objectId) });
    await lineAfter(s.gateway, adopted, (v) => v.event === 'rn.attached', 're-attached');
    await joinable(s, renewed);
  }, 90_000);

  it('(b) re-attaches once a renewed statement reaches it only through an RN started with it', async () => {
    const s = byRn;
    const before = readFileSync(s.at('rn-set.uzp'));
    s.d.advance(PAST_S);
    const renewed = s.d.rnSet([{ id: s.rnId, addresses: [s.address] }]);
    writeArtefactFile(join(s.dir, 'rn-set-for-the-rn.uzp'), renewed);
    const mark = await expireAndDrop(s, join(s.dir, 'rn-set-for-the-rn.uzp'));
    const adopted = await lineAfter(s.gateway, mark, (v) => v.event === 'artefact.adopted' && v.artefact === 'rn-set', 'statement adopted from the RN');
    expect(lines(s.gateway)[adopted]).toMatchObject({ source: 'rn', rn: s.address, object_id: toHex(decodeEnvelope(s.d.provider, renewed).objectId) });
    await lineAfter(s.gateway, adopted, (v) => v.event === 'rn.attached', 're-attached');
    await lineAfter(s.gateway, adopted, (v) => v.event === 'artefact.recovery_done', 'recovery link closed');
    await joinable(s, renewed);
    // Nothing was written on the board: the statement lives in memory until a file renews it too.
    expect(equal(readFileSync(s.at('rn-set.uzp')), before)).toBe(true);
  }, 90_000);
});

describe('a gateway on an in-process RN: what the RN offers, and a renewed PCert', () => {
  const d = new TestDomain(undefined, Date.now());
  let rn: RendezvousNode;
  let gateway: Child;
  let rnId: Identity;
  let address: string;
  let older: Uint8Array;
  let gw: Member;
  let at: (f: string) => string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uzp-live-rn-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    rnId = d.member('rn').id;
    trustFiles(dir, d, rnId);
    rn = new RendezvousNode({ trust: d.trust(), seed: rnId.seed });
    address = await rn.listen('127.0.0.1', 0);
    cleanups.push(() => rn.close());
    older = d.rnSet([{ id: rnId, addresses: [address] }]);
    gw = d.member('gateway');
    at = await gatewayFiles(dir, d, gw, d.rnSet([{ id: rnId, addresses: [address] }]));
    gateway = spawnCli(['gateway', '--config', at('gateway.json'), '--log-level', 'info']);
    await waitForJsonLine(gateway, (v) => v.event === 'rn.attached');
  }, 60_000);

  /** Sends `bytes` as CONTROL ARTEFACT on every attached link (the gateway's). */
  function offer(bytes: Uint8Array): void {
    let n = 0;
    for (const c of rn.connections) if (c.state === 'attached') (c.sendControl({ kind: ControlKind.ARTEFACT, artefact: bytes }), n++);
    expect(n).toBe(1);
  }

  it('refuses forged, older, foreign, wrong-kind and junk artefacts, stays attached, adopts a valid newer one', async () => {
    const mark = lines(gateway).length;
    const refusal = async (bytes: Uint8Array, code: string) => {
      const from = lines(gateway).length;
      offer(bytes);
      const i = await lineAfter(gateway, from, (v) => v.event === 'artefact.refused', `refusal ${code}`);
      expect(lines(gateway)[i]).toMatchObject({ source: 'rn', rn: address, code });
    };
    const newer = d.rnSet([{ id: rnId, addresses: [address] }]);
    const forged = newer.slice();
    forged[forged.length - 5]! ^= 0x01; // in the signature
    await refusal(forged, ErrorCode.SIG_INVALID);
    await refusal(older, ErrorCode.ARTEFACT_STALE_SEQUENCE);
    // Signed by another domain's root, and newer: the RN cannot make the gateway trust another root.
    await refusal(new TestDomain(undefined, Date.now()).rnSet([{ id: rnId, addresses: [address] }], { epoch: 9 }), ErrorCode.ARTEFACT_ISSUER);
    await refusal(d.member('gateway').pcert, ErrorCode.ARTEFACT_TYPE);
    await refusal(Uint8Array.of(0xa1, 0x00), expect.any(String) as unknown as string);

    const adopted = lines(gateway).length;
    offer(newer);
    await lineAfter(gateway, adopted, (v) => v.event === 'artefact.adopted' && v.source === 'rn', 'the valid newer statement adopted');
    expect(lines(gateway).slice(mark).some((v) => v.event === 'rn.detached')).toBe(false);
  }, 60_000);

  it('a renewed PCert written to its file is presented from the next attachment on', async () => {
    const attached = () => [...rn.connections].find((c) => c.state === 'attached')!;
    const renewed = d.pcert(gw.id, 'gateway', { validSeconds: 2 * 86_400 });
    const renewedId = toHex(decodeEnvelope(d.provider, renewed).objectId);
    const from = lines(gateway).length;
    writeArtefactFile(at('gw.pcert'), renewed);
    await lineAfter(gateway, from, (v) => v.event === 'artefact.adopted' && v.artefact === 'pcert' && v.object_id === renewedId, 'renewed PCert adopted');
    // The link up now keeps the PCert it attached with...
    expect(toHex(attached().pcert!.objectId)).not.toBe(renewedId);
    const mark = lines(gateway).length;
    attached().close('normal');
    await lineAfter(gateway, mark, (v) => v.event === 'rn.attached', 're-attached');
    // ...the next attachment presents the renewed one.
    expect(toHex(attached().pcert!.objectId)).toBe(renewedId);
  }, 60_000);
});
