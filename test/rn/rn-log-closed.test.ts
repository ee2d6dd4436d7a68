// `uzpgw rn` logs JSON lines on stderr (its stdout carries the one listening line). When the reader
// of that log goes away (a log shipper that died, `2>&1 | head`) it drains as on SIGTERM (draft
// §11.2: attached endpoints are told DRAIN and given --drain-ms to leave) and exits 141
// (src/cli/output-closed.ts). Before, pino dropped the EPIPE: the RN ran on for good with its log
// going nowhere. A real child process (dist/cli/main.js); its next log line after the reader left is
// provoked with SIGHUP ("sighup": no artefact files to reload).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeKeyFile } from '../../src/files/keyfile.js';
import { encodeTrustAnchor } from '../../src/files/trust-anchor.js';
import type { Identity } from '../../src/uzp/identity/identity.js';
import { RnLink } from '../../src/uzp/link/rn-link.js';
import { TestDomain } from '../helpers/domain.js';
import { signalProcess, spawnCli, stopAll, waitForJsonLine } from '../helpers/processes.js';
import { once } from '../uzp/link/wait.js';

/** A hang guard, not a timing claim: without the fix the process never exits. */
const GUARD_MS = 20_000;
/** The drain deadline: far beyond the guard, so only the endpoint leaving ends the drain in time. */
const DRAIN_MS = 3_600_000;

let dir: string;
let d: TestDomain;
let rnId: Identity;
let files: { trust: string; key: string };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'uzp-rn-log-closed-'));
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
    const child = spawnCli(['rn', '--listen', '127.0.0.1:0', '--trust', files.trust, '--key', files.key, '--drain-ms', String(DRAIN_MS), '--log-level', 'info']);
    const { address } = await waitForJsonLine<{ address: string }>(child, (v) => v.event === 'listening');
    const trust = d.trust();
    trust.setRnSet(d.rnSet([{ id: rnId, addresses: [address] }]));
    const gw = d.member('gateway');
    const link = await RnLink.attach({ address, trust, identity: { seed: gw.id.seed, pcert: gw.pcert } });
    const drained = once<number>((cb) => link.once('drain', cb));

    child.proc.stderr!.destroy();
    signalProcess(child, 'SIGHUP');
    expect(await guarded(drained, 'DRAIN')).toBe(DRAIN_MS);
    expect(child.proc.exitCode).toBeNull(); // draining: the endpoint has not left yet
    link.close();
    expect(await guarded(child.exited, 'exit')).toEqual({ code: 141, signal: null });
    // stdout kept its one line; nothing else was written there.
    expect(child.stdout().trim().split('\n')).toHaveLength(1);
  }, 60_000);
});
