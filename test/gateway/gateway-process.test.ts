// The gateway as users run it: `node dist/cli/main.js gateway --config FILE` as a child process on
// the virtual board, a real RN process, a socat PTY with an echo device on a serial-raw slot, and an
// operator session through the RN. The process must hold no listening socket of any kind.

import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeArtefactFile } from '../../src/files/artefact-file.js';
import { writeKeyFile } from '../../src/files/keyfile.js';
import { encodeTrustAnchor } from '../../src/files/trust-anchor.js';
import { SlotChannel } from '../../src/operator/slot-channel.js';
import { EchoDevice } from '../../src/sim/echo-device.js';
import { PtyPair } from '../../src/sim/pty.js';
import { openSerial } from '../../src/sim/serial-open.js';
import { Endpoint } from '../../src/uzp/endpoint.js';
import { TicketCache } from '../../src/uzp/resumption/ticket-cache.js';
import { decodeHil, encodeHil, type HilMessage } from '../../src/hil/messages.js';
import type { Identity } from '../../src/uzp/identity/identity.js';
import { RnLink } from '../../src/uzp/link/rn-link.js';
import { toHex } from '../../src/uzp/bytes.js';
import { TestDomain, type Member } from '../helpers/domain.js';
import { auditSockets } from '../helpers/proc-sockets.js';
import { spawnCli, stopAll, stopProcess, waitForJsonLine, type Child } from '../helpers/processes.js';
import { until } from '../helpers/until.js';

let dir: string;
let d: TestDomain;
let rnId: Identity;
let rnAddress: string;
let gw: Member;
let gateway: Child;
let pty: PtyPair;
let echo: EchoDevice;
const cleanups: (() => unknown)[] = [];
/** JOINs refused in a loop by the log-volume test, summed up at stop. */
const FLOOD_JOINS = 200;
/** Sessions whose early data the gateway does not take (a replayed ticket), summed up at stop. */
const EARLY_FLOOD = 20;
const CONFIG = {
  kind: 'uzp-gw/gateway-config',
  identity: { key: 'gw.key', pcert: 'gw.pcert' },
  trust: { anchor: 'trust.json', rn_set: 'rn-set.uzp', revocations: ['revocations.uzp'] },
  board: 'virtual',
  virtual_dir: 'pty',
  slots: { 'tty-2': { device: { id: 'echo-1', driver: 'serial-raw', serial: { baud: 115200 } } } },
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'uzp-gw-'));
  d = new TestDomain(undefined, Date.now());
  rnId = d.member('rn').id;
  gw = d.member('gateway');
  writeFileSync(join(dir, 'trust.json'), encodeTrustAnchor({ domain: 'gw', rootPublicKey: d.root.publicKey, rootCid: d.root.cid }));
  writeKeyFile(join(dir, 'rn.key'), rnId);
  const rn = spawnCli(['rn', '--listen', '127.0.0.1:0', '--trust', join(dir, 'trust.json'), '--key', join(dir, 'rn.key'), '--log-level', 'warn']);
  rnAddress = (await waitForJsonLine<{ event: string; address: string }>(rn, (v) => v.event === 'listening')).address;

  writeKeyFile(join(dir, 'gw.key'), gw.id);
  writeArtefactFile(join(dir, 'gw.pcert'), gw.pcert);
  writeArtefactFile(join(dir, 'rn-set.uzp'), d.rnSet([{ id: rnId, addresses: [rnAddress] }]));
  writeArtefactFile(join(dir, 'revocations.uzp'), d.revocation([]));
  mkdirSync(join(dir, 'pty'));
  mkdirSync(join(dir, 'dev'));
  pty = await PtyPair.open({ linkA: join(dir, 'pty', 'tty-2'), linkB: join(dir, 'dev', 'tty-2') });
  cleanups.push(() => pty.close());
  const devicePort = await openSerial(pty.linkB, 115200);
  echo = new EchoDevice(devicePort);
  cleanups.push(() => new Promise<void>((r) => devicePort.close(() => r())));
  writeFileSync(join(dir, 'gateway.json'), JSON.stringify(CONFIG));
  gateway = spawnCli(['gateway', '--config', join(dir, 'gateway.json'), '--log-level', 'info']);
  await waitForJsonLine(gateway, (v) => v.event === 'rn.attached');
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

/** `op`'s link to the test's RN, with the trust store that lists it (closed after the tests). */
async function operatorLink(op: Member): Promise<{ link: RnLink; trust: ReturnType<TestDomain['trust']> }> {
  const trust = d.trust();
  trust.setRnSet(d.rnSet([{ id: rnId, addresses: [rnAddress] }]));
  const link = await RnLink.attach({ address: rnAddress, trust, identity: { seed: op.id.seed, pcert: op.pcert } });
  cleanups.push(() => link.close());
  return { link, trust };
}

/** The gateway's log lines of one event so far. */
function logLines(event: string): Record<string, unknown>[] {
  return gateway
    .stdout()
    .split('\n')
    .filter((l) => l.includes(`"${event}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((v) => v.event === event);
}

/** SIGHUP's artefacts.reloaded comes after every line written before it, and rewrites the status file. */
async function afterReload(): Promise<void> {
  const reloads = logLines('artefacts.reloaded').length;
  process.kill(gateway.pid, 'SIGHUP');
  await until(() => logLines('artefacts.reloaded').length > reloads);
}

async function operatorSession(purposes: { purpose: string }[], op: Member = d.member('operator')) {
  const { link, trust } = await operatorLink(op);
  const session = await new Endpoint({ trust, identity: { cid: op.id.cid, signer: op.id.signer, pcert: op.pcert }, link }).connect(
    gw.id.cid,
    d.grant(op.id.cid, gw.id.cid, { purposes, slot: 'tty-2' }),
  );
  cleanups.push(() => session.close());
  return session;
}

describe('uzpgw gateway as a process', () => {
  it('an operator reaches the serial slot through the RN: bytes go to the device and come back', async () => {
    const session = await operatorSession([{ purpose: 'serial.read' }, { purpose: 'serial.write' }]);
    const slot = await SlotChannel.open(session, 'tty-2', 'serial');
    expect(slot.opened).toMatchObject({ device: 'echo-1', driver: 'serial-raw' });
    const got: number[] = [];
    const back = new Promise<void>((resolve) =>
      slot.on('data', (d: Uint8Array) => {
        got.push(...d);
        if (got.length >= 5) resolve();
      }),
    );
    await slot.write(new TextEncoder().encode('hello'));
    await back;
    expect(new TextDecoder().decode(Uint8Array.from(got))).toBe('hello');
    expect(echo.bytes).toBe(5);
  });

  it('connect serial --pty exposes the remote slot as a local PTY that ordinary programs can open', async () => {
    const op = d.member('operator');
    writeKeyFile(join(dir, 'op.key'), op.id);
    writeArtefactFile(join(dir, 'op.pcert'), op.pcert);
    writeArtefactFile(join(dir, 'op.grant'), d.grant(op.id.cid, gw.id.cid, { slot: 'tty-2', purposes: [{ purpose: 'serial.read' }, { purpose: 'serial.write' }] }));
    const ptyPath = join(dir, 'operator-tty');
    const connect = spawnCli([
      'connect',
      ...['--key', join(dir, 'op.key'), '--pcert', join(dir, 'op.pcert'), '--trust', join(dir, 'trust.json'), '--rn-set', join(dir, 'rn-set.uzp')],
      ...['--grant', join(dir, 'op.grant'), '--gateway', toHex(gw.id.cid), '--slot', 'tty-2', 'serial', '--pty', ptyPath],
    ]);
    await waitForJsonLine(connect, (v) => v.event === 'pty');
    const local = await openSerial(ptyPath, 115200);
    cleanups.push(() => new Promise<void>((r) => local.close(() => r())));
    const got: number[] = [];
    const back = new Promise<void>((resolve) =>
      local.on('data', (b: Buffer) => {
        got.push(...b);
        if (got.length >= 4) resolve();
      }),
    );
    local.write(Buffer.from('ping'));
    await back;
    expect(Buffer.from(got).toString()).toBe('ping');
    const r = await stopProcess(connect, 'SIGTERM');
    expect(r.code).toBe(0);
  });

  it('0-RTT (draft §9): a second session under an early-data Grant opens a tail as early data; a serial open sent early is refused and served when sent again', async () => {
    const op = d.member('operator');
    const { link, trust } = await operatorLink(op);
    const ep = new Endpoint({ trust, identity: { cid: op.id.cid, signer: op.id.signer, pcert: op.pcert }, link, ticketCache: new TicketCache() });
    const grant = d.grant(op.id.cid, gw.id.cid, { purposes: [{ purpose: 'serial.read' }, { purpose: 'serial.write' }], slot: 'tty-2', earlyData: true });
    (await ep.connect(gw.id.cid, grant)).close(); // leaves a ticket
    const open = (mode: string): Uint8Array => encodeHil({ t: 'open', slot: 'tty-2', mode } as HilMessage);
    const session = await ep.connect(gw.id.cid, grant, { early: [[open('tail')], [open('serial')]] });
    cleanups.push(() => session.close());
    expect(session.early?.accepted).toBe(true);
    const [tail, serial] = session.early!.channels;
    const first = (ch: typeof tail): Promise<HilMessage> => new Promise((r) => ch!.once('message', (m: Uint8Array) => r(decodeHil(m))));
    const [t, s] = await Promise.all([first(tail), first(serial)]);
    expect(t).toMatchObject({ t: 'opened', mode: 'tail', device: 'echo-1' });
    expect(s).toEqual({ t: 'refused', code: 'EARLY_DATA_REFUSED' });
    const again = first(serial);
    serial!.trySend(open('serial'));
    expect(await again).toMatchObject({ t: 'opened', mode: 'serial' });
  });

  it('SIGHUP reloads revocations and ends the session of an operator revoked meanwhile', async () => {
    const op = d.member('operator');
    const session = await operatorSession([{ purpose: 'serial.read' }], op);
    await SlotChannel.open(session, 'tty-2', 'serial');
    const closed = new Promise((r) => session.once('close', r));
    writeArtefactFile(join(dir, 'revocations.uzp'), d.revocation([op.id.cid]), { overwrite: true });
    process.kill(gateway.pid, 'SIGHUP');
    await closed;
    expect(session.state).toBe('closed');
    await waitForJsonLine(gateway, (v) => v.event === 'revocations.reloaded' && v.sessions_ended === 1);
  });

  it('gives memory back once its start-up measurement is done: a memory.trimmed line with the RSS before and after', async () => {
    await waitForJsonLine(gateway, (v) => v.event === 'attest.measured');
    const t = await waitForJsonLine<{ rss_before_mb: number; rss_after_mb: number; pause_ms: number }>(gateway, (v) => v.event === 'memory.trimmed');
    expect(t.rss_before_mb).toBeGreaterThan(10);
    expect(t.rss_after_mb).toBeGreaterThan(10);
    expect(t.pause_ms).toBeGreaterThanOrEqual(0);
  });

  it('an operator with a valid Grant JOINing in a loop with a fresh junk CH1: every refusal counted in the status file, one session.refused line, not one each', async () => {
    const op = d.member('operator');
    const { link } = await operatorLink(op);
    const grant = d.grant(op.id.cid, gw.id.cid, { purposes: [{ purpose: 'serial.read' }], slot: 'tty-2' });
    const before = logLines('session.refused').length;
    // Each JOIN is stitched by the RN; the gateway refuses the OFFER and the stitch closes.
    const worker = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        // Leading zero: not the tag of a RESUME or of early data (another code, said in full too).
        const st = await link.join(gw.id.cid, grant, Uint8Array.of(0, ...randomBytes(99)));
        await new Promise<void>((r) => st.onClose(() => r()));
      }
    };
    await Promise.all(Array.from({ length: 8 }, () => worker(FLOOD_JOINS / 8)));
    await afterReload(); // after every line the refusals wrote
    const mine = logLines('session.refused').slice(before).filter((v) => v.operator === toHex(op.id.cid));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ level: 40, rn: toHex(rnId.cid), code: 'HANDSHAKE_UNEXPECTED' });
    await until(() => {
      const st = JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')) as { refused?: { handshakes: number } };
      return (st.refused?.handshakes ?? 0) >= FLOOD_JOINS;
    });
  });

  it('an operator replaying one ticket in every JOIN: every early refusal counted in the status file, one session.early_refused line, not one each', async () => {
    const op = d.member('operator');
    const { link, trust } = await operatorLink(op);
    /** Hands out the first ticket it was given, every time (the responder's strike register refuses it after its first use). */
    class ReplayingCache extends TicketCache {
      private first: ReturnType<TicketCache['take']>;
      override take(target: Uint8Array, grantId: Uint8Array): ReturnType<TicketCache['take']> {
        this.first ??= super.take(target, grantId);
        return this.first;
      }
    }
    const ep = new Endpoint({ trust, identity: { cid: op.id.cid, signer: op.id.signer, pcert: op.pcert }, link, ticketCache: new ReplayingCache() });
    const grant = d.grant(op.id.cid, gw.id.cid, { purposes: [{ purpose: 'serial.read' }], slot: 'tty-2', earlyData: true });
    (await ep.connect(gw.id.cid, grant)).close(); // leaves a ticket
    const tail = [[encodeHil({ t: 'open', slot: 'tty-2', mode: 'tail' } as HilMessage)]];
    const taken = await ep.connect(gw.id.cid, grant, { early: tail });
    expect(taken.early?.accepted).toBe(true);
    taken.close();
    for (let i = 0; i < EARLY_FLOOD; i++) {
      const session = await ep.connect(gw.id.cid, grant, { early: tail });
      expect(session.early?.accepted).toBe(false); // it goes on at 1-RTT
      session.close();
    }
    await afterReload(); // after every line the refusals wrote
    // Before: one line per JOIN (EARLY_FLOOD of them).
    const mine = logLines('session.early_refused').filter((v) => v.operator === toHex(op.id.cid));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ level: 30, rn: toHex(rnId.cid), reason: 'the ticket was used before (replay)' });
    await until(() => {
      const st = JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')) as { refused?: { early_data?: number } };
      return st.refused?.early_data === EARLY_FLOOD;
    });
  });

  it('holds no TCP socket in LISTEN and no bound unconnected UDP socket (read from /proc)', async () => {
    // Prove the reader sees listeners at all: a listener in this test process must show up.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    expect(auditSockets(process.pid).tcpListening.length).toBeGreaterThan(0);
    probe.close();

    const a = auditSockets(gateway.pid);
    expect(a.owned.tcp!.length + a.owned.tcp6!.length).toBeGreaterThan(0); // its outbound RN link is seen
    expect(a.tcpListening).toEqual([]);
    expect(a.udpUnconnected).toEqual([]);
  });

  it('exits 0 on SIGTERM, through its stop', async () => {
    const r = await stopProcess(gateway, 'SIGTERM');
    expect(r).toEqual({ code: 0, signal: null });
    expect(gateway.stdout()).toContain('"gateway.stopping"');
    expect(gateway.stdout()).toContain('"gateway.stopped"');
    // The refusals of the JOIN loop not said one by one are summed up as it stops.
    const summaries = logLines('session.refused_suppressed');
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({ rn: toHex(rnId.cid), codes: { HANDSHAKE_UNEXPECTED: FLOOD_JOINS - 1 } });
    // So are the early refusals of the replayed ticket.
    const early = logLines('session.early_refused_suppressed');
    expect(early).toHaveLength(1);
    expect(early[0]).toMatchObject({ level: 30, rn: toHex(rnId.cid), suppressed: EARLY_FLOOD - 1, reasons: { 'the ticket was used before (replay)': EARLY_FLOOD - 1 } });
  });

  it('an audit file it cannot open is a config error at start, with the fix, not a crash', async () => {
    // A directory where the file should be: pino opened it asynchronously and its 'error' event
    // was unhandled, so the gateway died with a stack trace instead of saying what to fix.
    writeFileSync(join(dir, 'bad-audit.json'), JSON.stringify({ ...CONFIG, audit: { file: 'dev' } }));
    const bad = spawnCli(['gateway', '--config', join(dir, 'bad-audit.json'), '--log-level', 'warn']);
    const r = await bad.exited;
    expect(r.code).toBe(1);
    expect(bad.stderr()).toMatch(/audit log .*\/dev: cannot open \(EISDIR\); fix "audit.file" in the config, or drop it to log audit lines to stdout \[CONFIG_INVALID\]/);
    expect(bad.stderr()).not.toMatch(/Unhandled|at .*sonic-boom/);
  });
});
