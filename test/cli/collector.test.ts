// `uzpgw collector query` reads a database and never makes one: a --db path that does not exist is
// an error naming it (and no file appears), a SQLite file that is not a collector's is refused, and
// a collector's database is read without being written to.

import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/collector/store/sqlite.js';
import { runCli as run } from '../helpers/cli-run.js';

const tmp = mkdtempSync(join(tmpdir(), 'uzp-cli-collector-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('collector query --db', () => {
  it('a path with no database is an error naming it, and creates nothing', async () => {
    const typo = join(tmp, 'colector.db');
    for (const args of [[], ['--json'], ['--csv']]) {
      const r = await run('collector', 'query', '--db', typo, ...args);
      expect(r.code, r.err).toBe(1);
      expect(r.out).toBe('');
      expect(r.err).toContain(`no SQLite database at ${typo}`);
      expect(r.err).toMatch(/\[STORE_UNREACHABLE\]\n$/);
      expect(existsSync(typo)).toBe(false);
    }
    expect(readdirSync(tmp)).toEqual([]);
  });

  it("a SQLite file that is not a collector's database is refused, unchanged", async () => {
    const other = join(tmp, 'other.db');
    const db = new DatabaseSync(other);
    db.exec('CREATE TABLE t (x)');
    db.close();
    const size = statSync(other).size;
    const r = await run('collector', 'query', '--db', other, '--json');
    expect(r.code, r.err).toBe(1);
    expect(r.err).toMatch(/not a collector database.*\[STORE_UNREACHABLE\]/);
    expect(statSync(other).size).toBe(size);
  });

  it("a collector's database is read: its readings, as JSON lines", async () => {
    const file = join(tmp, 'collector.db');
    const s = SqliteStore.open(file);
    const gateway = new Uint8Array(32).fill(0x5a);
    await s.insert([{ gateway, slot: 'tty-1', device: 'sensor-1', kind: 'serial', epoch: 1, seq: 0, ts: Date.UTC(2026, 0, 1), value: new Uint8Array([0xf6]) }]);
    await s.close();
    const r = await run('collector', 'query', '--db', file, '--json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ slot: 'tty-1', device: 'sensor-1', epoch: 1, seq: 0, ts: '2026-01-01T00:00:00.000Z' });
  });

  it('the collector itself still creates its database', async () => {
    const file = join(tmp, 'fresh.db');
    await SqliteStore.open(file).close();
    expect(existsSync(file)).toBe(true);
  });
});

describe('CID flags', () => {
  it('collector query --gateway and attest verify --gateway that are not CIDs are usage errors naming the flag (exit 2)', async () => {
    // Before: "... [DECODE_VALUE]", exit 1, naming no flag.
    const q = await run('collector', 'query', '--db', join(tmp, 'any.db'), '--gateway', 'not-a-cid');
    expect(q.code).toBe(2);
    expect(q.err).toMatch(/--gateway: expected a CID \(64 lowercase hex characters\), got "not-a-cid"/);
    writeFileSync(join(tmp, 'ev.hex'), 'a0');
    const v = await run('attest', 'verify', '--evidence', join(tmp, 'ev.hex'), '--nonce', '00'.repeat(16), '--manifest', join(tmp, 'absent.cbor'), '--manifest-signer', '00'.repeat(32), '--gateway', 'xyz');
    expect(v.code, v.err).toBe(2);
    expect(v.err).toMatch(/--gateway: expected a CID/);
  });
});
