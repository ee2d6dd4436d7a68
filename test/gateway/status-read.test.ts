// Reading the status file back: what a reader refuses, and the review `uzpgw status` bases its exit
// status on (expiry recomputed at a given time, liveness from the pid and the file's age), all at
// fixed times with the pid check injected.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileErrorCode } from '../../src/files/errors.js';
import { parseGatewayStatus, processExists, readGatewayStatus, reviewStatus, UNJUDGED } from '../../src/gateway/status-read.js';
import { codeOf } from '../helpers/errors.js';
import { sampleStatus, WRITTEN } from './status-sample.js';

const DAY = 86_400_000;
const alive = (): boolean => true;
const gone = (): boolean => false;

const dir = mkdtempSync(join(tmpdir(), 'uzp-status-read-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseGatewayStatus', () => {
  it('refuses what is not a status file of this version, saying why', () => {
    const bad: [string, RegExp][] = [
      ['not json', /not a gateway status file/],
      ['{"kind":"uzp-gw/trust-anchor"}', /expected "kind": "uzp-gw\/gateway-status"/],
      [JSON.stringify({ ...sampleStatus(), version: 2 }), /version 2, this uzpgw reads version 1/],
      [JSON.stringify({ ...sampleStatus(), written_at: 'yesterday' }), /ISO times/],
      [JSON.stringify({ ...sampleStatus(), pid: 0 }), /pid and interval_ms/],
      [JSON.stringify({ ...sampleStatus(), state: 'sleeping' }), /state must be/],
      [JSON.stringify({ ...sampleStatus(), rn: null }), /must be objects/],
      [JSON.stringify({ ...sampleStatus(), slots: {} }), /slots must be a list/],
      [JSON.stringify({ ...sampleStatus(), artefacts: [{ kind: 'pcert' }] }), /expires_at/],
    ];
    for (const [text, why] of bad) expect(() => parseGatewayStatus(text, 'f.json'), text).toThrow(why);
    expect(codeOf(() => parseGatewayStatus('[]', 'f.json'))).toBe(FileErrorCode.FILE_INVALID);
  });
});

describe('readGatewayStatus', () => {
  it('a missing file says where it looked and what to do', () => {
    const file = join(dir, 'status.json');
    expect(() => readGatewayStatus(file)).toThrow(`no status at ${file}: is the gateway running? it writes this file at start`);
    expect(codeOf(() => readGatewayStatus(file))).toBe(FileErrorCode.FILE_NOT_FOUND);
    writeFileSync(file, JSON.stringify(sampleStatus()));
    expect(readGatewayStatus(file).identity.cid).toBe('ab'.repeat(32));
  });
});

describe('reviewStatus', () => {
  it('a fresh file from a live pid with nothing expiring is ok', () => {
    const r = reviewStatus(sampleStatus(), WRITTEN + 10_000, alive);
    expect(r).toMatchObject({ alive: true, ok: true });
    expect(r.reason).toBeUndefined();
    expect(r.artefacts.map((a) => a.expiry)).toEqual(['ok', 'ok']);
  });

  it("the reading log's commits failing (a full or failing disk) makes a live gateway not ok", () => {
    const readingLog = { file: '/var/lib/uzp-gateway/readings.db', durability: 'batch', readings: 10, bytes: 800, max_bytes: 64 << 20, pending: 1200, dropped: {}, receipted: 0 };
    expect(reviewStatus(sampleStatus({ reading_log: readingLog }), WRITTEN + 10_000, alive)).toMatchObject({ alive: true, ok: true });
    const failing = { ...readingLog, commit_failing: { since: new Date(WRITTEN - 60_000).toISOString(), error: 'database or disk is full' } };
    expect(reviewStatus(sampleStatus({ reading_log: failing }), WRITTEN + 10_000, alive)).toMatchObject({ alive: true, ok: false });
  });

  it('recomputes expiry at the review time: a file written when all was fine still warns a week later', () => {
    // The RN Set Statement expires 2026-12-20; the file was written 2026-12-01 with "ok".
    const r = reviewStatus(sampleStatus(), Date.UTC(2026, 11, 17, 0, 0, 0), alive);
    expect(r.ok).toBe(false);
    expect(r.artefacts[1]).toMatchObject({ kind: 'rn-set', expiry: 'expiring', warning: 'expires in 3 days (2026-12-20T00:00:00Z); renew it: docs/FLASH.md#renewal' });
    expect(r.artefacts[0]).not.toHaveProperty('warning');
    const later = reviewStatus(sampleStatus(), Date.UTC(2026, 11, 21, 0, 0, 0), alive);
    expect(later.artefacts[1]).toMatchObject({ expiry: 'expired', warning: expect.stringMatching(/^expired 1 day ago/) });
  });

  it('a warning the file carried but that no longer holds (renewed since) is dropped', () => {
    const s = sampleStatus();
    const stale = { ...s, artefacts: [{ ...s.artefacts[0]!, expiry: 'expiring' as const, warning: 'expires in 1 day' }] };
    expect(reviewStatus(stale, WRITTEN, alive).artefacts[0]).toEqual({ ...s.artefacts[0], expiry: 'ok' });
  });

  it('not alive: stopped, pid gone, or not written for more than 3 periods', () => {
    const stopped = reviewStatus(sampleStatus({ state: 'stopped' }), WRITTEN + 1000, alive);
    expect(stopped).toMatchObject({ alive: false, ok: false, reason: 'not running: the gateway stopped; last written 2026-12-01T12:00:00.000Z (less than a minute ago) by pid 4242' });
    const noPid = reviewStatus(sampleStatus(), WRITTEN + 1000, gone);
    expect(noPid).toMatchObject({ alive: false, ok: false });
    expect(noPid.reason).toMatch(/^not running or not writing: last written 2026-12-01T12:00:00.000Z .* by pid 4242, which no longer exists$/);
    expect(reviewStatus(sampleStatus(), WRITTEN + 90_000, alive).alive).toBe(true); // exactly 3 periods
    const stale = reviewStatus(sampleStatus(), WRITTEN + 90_001, alive);
    expect(stale).toMatchObject({ alive: false, ok: false });
    expect(stale.reason).toBe('not running or not writing: last written 2026-12-01T12:00:00.000Z (1 minute ago) by pid 4242 (it writes every 30 s)');
    expect(reviewStatus(sampleStatus(), WRITTEN + 2 * DAY, gone).reason).toContain('(2 days ago)');
  });
});

describe('reviewStatus, a file written ahead of this clock', () => {
  // Before: a negative age never exceeded 3 periods, so such a file read "running" (exit 0) however
  // long the gateway had been hung since the clock was stepped back.
  it('more than one interval ahead: whether it runs cannot be told; not alive, not ok', () => {
    const ahead = reviewStatus(sampleStatus(), WRITTEN - 2 * 3600_000, alive);
    expect(ahead).toMatchObject({ alive: false, ok: false });
    expect(ahead.reason).toBe(
      `${UNJUDGED}: written 2026-12-01T12:00:00.000Z, 2 hours ahead of this machine's clock (was the clock stepped back?) by pid 4242; a gateway that still writes replaces it within 30 s, so if this persists it is not writing (\`journalctl -t uzp-gateway\`)`,
    );
    expect(reviewStatus(sampleStatus(), WRITTEN - 30_001, alive).alive).toBe(false);
  });

  it('up to one interval ahead (clocks that differ a little) is fresh', () => {
    expect(reviewStatus(sampleStatus(), WRITTEN - 30_000, alive)).toMatchObject({ alive: true, ok: true });
  });

  it('a stopped state or a gone pid still says not running', () => {
    expect(reviewStatus(sampleStatus({ state: 'stopped' }), WRITTEN - DAY, alive).reason).toMatch(/^not running: the gateway stopped/);
    expect(reviewStatus(sampleStatus(), WRITTEN - DAY, gone).reason).toMatch(/^not running or not writing: .*which no longer exists$/);
  });
});

describe('processExists', () => {
  it('is true for this process and false for a pid that cannot exist', () => {
    expect(processExists(process.pid)).toBe(true);
    expect(processExists(2 ** 22 + 1)).toBe(false); // above Linux's pid_max limit (4194304)
  });
});
