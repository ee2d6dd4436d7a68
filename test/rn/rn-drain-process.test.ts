// `uzpgw rn` drains on SIGTERM (draft §11.2 maintenance signalling), as a real child process
// (dist/cli/main.js; build first) stopped by its own pid: attached RnLinks see 'drain' with
// --drain-ms, a stitch keeps relaying, a JOIN is refused, and the process exits 0 once the links
// have left, or at the deadline with the rest closed. No wall-clock threshold: the first case uses a
// deadline far beyond the test timeout, so only the endpoints leaving can end it in time.
// The same drain when the reader of its log (stderr) goes away (a log shipper that died, `2>&1 |
// head`), then exit 141 (src/cli/output-closed.ts): before, pino dropped the EPIPE and the RN ran on
// for good with its log going nowhere. Its next log line after the reader left is provoked with
// SIGHUP ("sighup": no artefact files to reload).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeKeyFile } from '../../src/files/keyfile.js';
import { encodeTrustAnchor } from '../../src/files/trust-anchor.js';
import { ErrorCode } from '../../src/uzp/errors.js';
import type { Identity } from '../../src/uzp/identity/identity.js';
import { RnLink, type Offer } from '../../src/uzp/link/rn-link.js';
import type { Stitch } from '../../src/uzp/link/stitch.js';
import type { CodedError } from '../../src/lib/errors.js';
import { TestDomain, type Member } from '../helpers/domain.js';
import { signalProcess, spawnCli, stopAll, waitForJsonLine, type Child } from '../helpers/processes.js';
import { once, until } from '../uzp/link/wait.js';

let dir: string;
let d: TestDomain;
let rnId: Identity;
let files: { trust: string; key: string };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'uzp-rn-drain-'));
  d = new TestDomain(undefined, Date.now()); // the child validates against the real clock
  rnId = d.member('rn').id;
  files = { trust: join(dir, 'trust.json'), key: join(dir, 'rn.key') };
  writeFileSync(files.trust, encodeTrustAnchor({ domain: 'test', rootPublicKey: d.root.publicKey, rootCid: d.root.cid }));
  writeKeyFile(files.key, rnId);
});

afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

async function startRn(drainMs: number): Promise<{ child: Child; address: string }> {
  const child = spawnCli(['rn', '--listen', '127.0.0.1:0', '--trust', files.trust, '--key', files.key, '--drain-ms', String(drainMs), '--log-level', 'info']);
  const { address } = await waitForJsonLine<{ address: string }>(child, (v) => v.event === 'listening');
  return { child, address };
}

async function attach(address: string, m: Member): Promise<RnLink> {
  const trust = d.trust();
  trust.setRnSet(d.rnSet([{ id: rnId, addresses: [address] }]));
  return RnLink.attach({ address, trust, identity: { seed: m.id.seed, pcert: m.pcert } });
}

/** The JSON log line of `event` on the child's stderr. */
function logLine(child: Child, event: string): Record<string, unknown> | undefined {
  const line = child.stderr().split('\n').find((l) => l.includes(`"event":"${event}"`));
  return line === undefined ? undefined : (JSON.parse(line) as Record<string, unknown>);
}

describe('uzpgw rn: SIGTERM drains', () => {
  it('links see DRAIN(--drain-ms), the stitch relays, JOINs are refused; the RN exits 0 when they left', async () => {
    const { child, address } = await startRn(3_600_000);
    const gw = d.member('gateway');
    const op = d.member('operator');
    const gwLink = await attach(address, gw);
    const opLink = await attach(address, op);
    const offered = once<Offer>((cb) => gwLink.once('offer', cb));
    gwLink.accept();
    let initiator: Stitch | undefined;
    while (initiator === undefined) {
      try {
        initiator = await opLink.join(gw.id.cid, d.grant(op.id.cid, gw.id.cid), Uint8Array.of(1));
      } catch (e) {
        if ((e as CodedError).code !== ErrorCode.PEER_NOT_ATTACHED) throw e;
      }
    }
    const responder = (await offered).accept();

    const drains = [once<number>((cb) => gwLink.once('drain', cb)), once<number>((cb) => opLink.once('drain', cb))];
    signalProcess(child, 'SIGTERM');
    expect(await Promise.all(drains)).toEqual([3_600_000, 3_600_000]);

    const got: number[] = [];
    responder.onPayload((p) => got.push(p[0]!));
    initiator.send(Uint8Array.of(42));
    await until(() => got.length === 1);
    expect(got).toEqual([42]);
    const refused = await opLink.join(gw.id.cid, d.grant(op.id.cid, gw.id.cid), Uint8Array.of(2)).catch((x: CodedError) => x);
    expect((refused as CodedError).code).toBe(ErrorCode.JOIN_REFUSED);
    expect(child.proc.exitCode).toBeNull(); // still serving inside the drain

    gwLink.close();
    opLink.close();
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(logLine(child, 'drained')).toMatchObject({ detached: true, remaining: 0 });
    expect(logLine(child, 'stopped')).toBeDefined();
    expect(child.stdout().trim().split('\n')).toHaveLength(1);
    expect(child.stderr()).not.toMatch(/\n\s+at /);
  });

  it('a link that stays past --drain-ms is closed and the RN exits 0', async () => {
    const { child, address } = await startRn(200);
    const link = await attach(address, d.member('gateway'));
    const drained = once<number>((cb) => link.once('drain', cb));
    const closed = once<CodedError | undefined>((cb) => link.once('close', cb));
    signalProcess(child, 'SIGTERM');
    expect(await drained).toBe(200);
    expect((await closed)?.code).toBe(ErrorCode.LINK_CLOSED);
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(logLine(child, 'drained')).toMatchObject({ detached: false, remaining: 1 });
  });

  it('a second SIGTERM during the drain closes at once and exits 0', async () => {
    const { child, address } = await startRn(3_600_000);
    const link = await attach(address, d.member('gateway'));
    const drained = once<number>((cb) => link.once('drain', cb));
    const closed = once<CodedError | undefined>((cb) => link.once('close', cb));
    signalProcess(child, 'SIGTERM');
    await drained;
    signalProcess(child, 'SIGTERM');
    await closed;
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(logLine(child, 'stopping_now')).toBeDefined();
    expect(logLine(child, 'drained')).toMatchObject({ detached: false, remaining: 0 });
  });
});

/** A hang guard, not a timing claim: without the fix the process never exits. */
const GUARD_MS = 20_000;

/** `p`, or an error naming `what` once GUARD_MS passed. */
function guarded<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} ${GUARD_MS} ms after the log's reader left`)), GUARD_MS);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

describe('uzpgw rn: the reader of its log (stderr) goes away', () => {
  it('drains as on SIGTERM (an attached endpoint is told DRAIN) and exits 141 once it left', async () => {
    const drainMs = 3_600_000; // far beyond the guard: only the endpoint leaving ends the drain in time
    const { child, address } = await startRn(drainMs);
    const link = await attach(address, d.member('gateway'));
    const drained = once<number>((cb) => link.once('drain', cb));

    child.proc.stderr!.destroy();
    signalProcess(child, 'SIGHUP');
    expect(await guarded(drained, 'DRAIN')).toBe(drainMs);
    expect(child.proc.exitCode).toBeNull(); // draining: the endpoint has not left yet
    link.close();
    expect(await guarded(child.exited, 'exit')).toEqual({ code: 141, signal: null });
    // stdout kept its one line; nothing else was written there.
    expect(child.stdout().trim().split('\n')).toHaveLength(1);
  }, 60_000);
});
