// Issue #12 bug: revocation confirmations were kept in memory only. After a whole revocation (OI
// §11.6) and a gateway restart, the collector refuses the announcement with REVOKED before the
// revocation can be sent again, and the gateway retried every 60 s forever. Real processes on
// loopback (pantheon, RN, collector, gateway from dist/, like test/e2e/publish.test.ts), one rig
// walked through the three cases in order:
//  1. revoked while the collector is away: delivered first in the next session after a restart,
//     confirmed with a signed receipt, and the confirmation is written down;
//  2. confirmed, then a restart: no session at all, status `revoked`, said once in the log;
//  3. confirmation lost (the gateway's record deleted; the collector applied the revocation): one
//     announcement, refused REVOKED, and the gateway stops for good instead of retrying.
// Then the confirmations file on its own: bounds and validation.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REVOCATIONS } from '../../../src/files/discovery-revocations.js';
import { readRevocationConfirmations, revocationConfirmationsFileOf, writeRevocationConfirmations, type RevocationConfirmation } from '../../../src/files/revocation-confirmations.js';
import { toHex } from '../../../src/uzp/bytes.js';
import { stopProcess, waitForJsonLine, type Child } from '../../helpers/processes.js';
import { cli, PublishRig, until } from '../../helpers/publish-rig.js';

let rig: PublishRig;

beforeAll(async () => {
  rig = await PublishRig.create({ durability: 'full' });
  await rig.startCollector();
  await rig.startGateway();
}, 60_000);

afterAll(async () => {
  await rig?.close();
});

/** Stdout JSON lines of `child` matching `f`. */
function lines(child: Child, f: (v: Record<string, unknown>) => boolean): Record<string, unknown>[] {
  return child
    .stdout()
    .split('\n')
    .flatMap((l) => {
      try {
        const v = JSON.parse(l) as unknown;
        return v !== null && typeof v === 'object' && f(v as Record<string, unknown>) ? [v as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
}

const confirmationsFile = (): string => rig.at('discovery-revocations-confirmed.json');

async function publishState(): Promise<{ state: string; last_error?: { code: string } }> {
  const s = (await rig.status()) as { publish?: { state: string; last_error?: { code: string } }[] };
  return s.publish![0]!;
}

describe('a whole revocation across gateway restarts (issue #12)', () => {
  it('revoked while the collector is away: delivered first in the next session after a restart, and its confirmation is kept', async () => {
    await rig.writeLines('tty-1', 20);
    await until('the lines stored', async () => ((await rig.stored()).length >= 20 ? true : undefined));
    await stopProcess(rig.collector!);
    const r = await cli('publish', 'revoke', '--config', rig.at('gateway.json'), '--collector', toHex(rig.col.cid), '--all', '--json');
    expect(r.code, r.err).toBe(0);
    const revocation = (JSON.parse(r.out) as { object_id: string }).object_id;
    await waitForJsonLine(rig.gateway!, (v) => v.event === 'publish.consent_revoked');
    await stopProcess(rig.gateway!);
    expect(existsSync(confirmationsFile())).toBe(false);

    const col = await rig.startCollector();
    const gw = await rig.startGateway();
    await waitForJsonLine(col, (v) => v.event === 'revoke.applied');
    const revoked = await waitForJsonLine<{ revocation: string; receipt: string }>(gw, (v) => v.action === 'publish.revoked');
    expect(revoked.revocation).toBe(revocation);
    await waitForJsonLine(gw, (v) => v.event === 'publish.stopped');
    expect(await publishState()).toMatchObject({ state: 'revoked' });
    expect(await rig.stored()).toEqual([]);
    const kept = readRevocationConfirmations(confirmationsFile());
    expect(kept).toEqual([expect.objectContaining({ revocation, collector: toHex(rig.col.cid), by: 'receipt', receipt: revoked.receipt })]);
  }, 90_000);

  it('confirmed, then a restart: no session to that collector at all, status `revoked`, said once', async () => {
    await stopProcess(rig.gateway!);
    const sessionsBefore = lines(rig.collector!, (v) => v.event === 'session.opened').length;
    const gw = await rig.startGateway();
    // Whichever comes first: the publisher stopping (fixed) or the collector's refusal of an announcement (the bug).
    const first = await waitForJsonLine(gw, (v) => v.event === 'publish.stopped' || v.action === 'publish.refused' || v.action === 'publish.accepted');
    expect(first).toMatchObject({ event: 'publish.stopped' });
    const st = await publishState();
    expect(st.state).toBe('revoked');
    expect(st.last_error).toBeUndefined();
    expect(lines(gw, (v) => v.event === 'publish.stopped')).toHaveLength(1);
    expect(lines(rig.collector!, (v) => v.event === 'session.opened').length).toBe(sessionsBefore);
  }, 60_000);

  it('confirmation lost (the collector applied it): one announcement refused REVOKED, then the gateway stops for good', async () => {
    await stopProcess(rig.gateway!);
    rmSync(confirmationsFile());
    const refusedBefore = lines(rig.collector!, (v) => v.event === 'grant.refused').length;
    const gw = await rig.startGateway();
    await waitForJsonLine(gw, (v) => v.action === 'publish.refused' && v.code === 'REVOKED');
    // The bug: a refused publisher waits 60 s and announces again, forever; it never stops.
    await waitForJsonLine(gw, (v) => v.event === 'publish.stopped');
    expect(await publishState()).toMatchObject({ state: 'revoked' });
    expect(readRevocationConfirmations(confirmationsFile())).toEqual([expect.objectContaining({ collector: toHex(rig.col.cid), by: 'refusal' })]);
    expect(lines(rig.collector!, (v) => v.event === 'grant.refused').length).toBe(refusedBefore + 1);

    // And that is written down too: the next start opens no session.
    await stopProcess(gw);
    const sessionsBefore = lines(rig.collector!, (v) => v.event === 'session.opened').length;
    const again = await rig.startGateway();
    const first = await waitForJsonLine(again, (v) => v.event === 'publish.stopped' || v.action === 'publish.refused' || v.action === 'publish.accepted');
    expect(first).toMatchObject({ event: 'publish.stopped' });
    expect(lines(rig.collector!, (v) => v.event === 'session.opened').length).toBe(sessionsBefore);
  }, 60_000);
});

describe('the revocation confirmations file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'uzp-confirmations-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const h = (b: number): string => b.toString(16).padStart(2, '0').repeat(32);
  const one = (i: number): RevocationConfirmation => ({ revocation: h(i % 256).slice(0, 60) + i.toString(16).padStart(4, '0'), collector: h(1), by: 'receipt', receipt: h(2), at: '2026-01-01T00:00:00.000Z' });

  it('sits in the state directory, beside the identity key', () => {
    expect(revocationConfirmationsFileOf('/var/lib/uzpgw/identity.key')).toBe('/var/lib/uzpgw/discovery-revocations-confirmed.json');
  });

  it('reads back what was written; none when absent', () => {
    const f = join(dir, 'a.json');
    expect(readRevocationConfirmations(f)).toEqual([]);
    const list = [one(1), { ...one(2), by: 'refusal' as const, receipt: undefined }].map((c) => Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) as unknown as RevocationConfirmation);
    writeRevocationConfirmations(f, list);
    expect(readRevocationConfirmations(f)).toEqual(list);
  });

  it.each([
    ['not JSON', 'nope'],
    ['another kind', JSON.stringify({ kind: 'uzp-gw/discovery-revocations', confirmed: [] })],
    ['an unknown key', JSON.stringify({ kind: 'uzp-gw/revocation-confirmations', confirmed: [], extra: 1 })],
    ['not a list', JSON.stringify({ kind: 'uzp-gw/revocation-confirmations', confirmed: {} })],
    ['a short object id', JSON.stringify({ kind: 'uzp-gw/revocation-confirmations', confirmed: [{ revocation: 'ab', collector: 'ab'.repeat(32), by: 'receipt', at: 'x' }] })],
    ['upper-case hex', JSON.stringify({ kind: 'uzp-gw/revocation-confirmations', confirmed: [{ revocation: 'AB'.repeat(32), collector: 'ab'.repeat(32), by: 'receipt', at: 'x' }] })],
    ['an unknown way', JSON.stringify({ kind: 'uzp-gw/revocation-confirmations', confirmed: [{ revocation: 'ab'.repeat(32), collector: 'ab'.repeat(32), by: 'hearsay', at: 'x' }] })],
    ['an unknown entry key', JSON.stringify({ kind: 'uzp-gw/revocation-confirmations', confirmed: [{ revocation: 'ab'.repeat(32), collector: 'ab'.repeat(32), by: 'receipt', at: 'x', more: true }] })],
    ['more than the bound', JSON.stringify({ kind: 'uzp-gw/revocation-confirmations', confirmed: Array.from({ length: MAX_REVOCATIONS + 1 }, (_, i) => one(i)) })],
  ])('refuses %s with FILE_INVALID, naming the file', (_what, text) => {
    const f = join(dir, 'bad.json');
    writeFileSync(f, text);
    expect(() => readRevocationConfirmations(f)).toThrow(expect.objectContaining({ code: 'FILE_INVALID', message: expect.stringContaining(f) }));
  });

  it('refuses a file larger than its bound without reading it whole', () => {
    const f = join(dir, 'huge.json');
    writeFileSync(f, ' '.repeat(4 * 1024 * 1024));
    expect(() => readRevocationConfirmations(f)).toThrow(expect.objectContaining({ code: expect.stringMatching(/^FILE_/) }));
  });

  it('keeps at most the bound when writing (the oldest go first)', () => {
    const f = join(dir, 'many.json');
    const list = Array.from({ length: MAX_REVOCATIONS + 5 }, (_, i) => one(i));
    writeRevocationConfirmations(f, list);
    const back = readRevocationConfirmations(f);
    expect(back).toHaveLength(MAX_REVOCATIONS);
    expect(back[0]).toEqual(list[5]);
    expect(JSON.parse(readFileSync(f, 'utf8')).kind).toBe('uzp-gw/revocation-confirmations');
  });
});
