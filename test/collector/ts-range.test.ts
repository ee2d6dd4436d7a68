// A reading's ts beyond JS Date's range (8.64e15 ms) was taken at intake (any safe integer), stored,
// and then every `collector query` covering it crashed with a RangeError. Now the window decoder and
// the store refuse it, and a stored one (from before, or another tool) is printed raw.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { CollectorCode } from '../../src/collector/errors.js';
import { SqliteStore } from '../../src/collector/store/sqlite.js';
import { decodePublish, encodePublish, MAX_TS_MS, type WireReading } from '../../src/hil/publish-messages.js';
import { runCli as run } from '../helpers/cli-run.js';

const tmp = mkdtempSync(join(tmpdir(), 'uzp-tsrange-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const row = (ts: number): WireReading => ({ slot: 'a', device: 'd', kind: 'k', epoch: 1, seq: 1, ts, value: Uint8Array.of(0xf6) });

describe('ts within the Date range', () => {
  it('the window decoder refuses a ts above 8.64e15 ms (DECODE_VALUE) and takes 8.64e15', () => {
    expect(MAX_TS_MS).toBe(8.64e15);
    for (const m of [
      { t: 'readings', w: 1, rows: [row(MAX_TS_MS + 1)] },
      { t: 'range', id: 1, rows: [row(MAX_TS_MS + 1)], done: true },
    ] as const) {
      // The fast reader leaves it to the generic decoder, which refuses it naming the field.
      expect(() => decodePublish(encodePublish(m))).toThrow(expect.objectContaining({ code: 'DECODE_VALUE', message: expect.stringContaining('.ts: above') }));
    }
    expect(decodePublish(encodePublish({ t: 'readings', w: 1, rows: [row(MAX_TS_MS)] }))).toMatchObject({ rows: [{ ts: MAX_TS_MS }] });
  });

  it('the store refuses it (STORE_INVALID); a stored one is printed raw by collector query, which goes on', async () => {
    const file = join(tmp, 'c.db');
    const s = SqliteStore.open(file);
    const g = new Uint8Array(32).fill(5);
    const r = (seq: number, ts: number) => ({ gateway: g, slot: 'a', device: 'd', kind: 'k', epoch: 1, seq, ts, value: Uint8Array.of(1) });
    await expect(s.insert([r(2, MAX_TS_MS + 1)])).rejects.toMatchObject({ code: CollectorCode.STORE_INVALID });
    await expect(s.insert([r(2, -MAX_TS_MS - 1)])).rejects.toMatchObject({ code: CollectorCode.STORE_INVALID });
    await s.insert([r(1, Date.UTC(2026, 0, 1)), r(3, Date.UTC(2026, 0, 2))]);
    await s.close();
    // As a collector before this fix stored it.
    const db = new DatabaseSync(file);
    db.prepare("INSERT INTO readings (gateway, slot, device, kind, epoch, seq, ts, value) VALUES (?, 'a', 'd', 'k', 1, 2, ?, x'01')").run('05'.repeat(32), MAX_TS_MS + 1);
    db.close();
    const out = await run('collector', 'query', '--db', file, '--csv');
    expect(out.code, out.err).toBe(0);
    expect(out.out.trim().split('\n').map((l) => l.split(',')[6])).toEqual(['ts', '2026-01-01T00:00:00.000Z', String(MAX_TS_MS + 1), '2026-01-02T00:00:00.000Z']);
  });
});
