// Retention (src/collector/retention.ts; OI §10.1): the collector deletes a gateway's readings
// older than the retention of the grant it last accepted from that gateway, remembers that
// retention across restarts (from the audit trail's grant.accepted entries), audits each sweep
// that deleted something, and keeps going when a sweep fails. On a real SQLite store.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { Retention, RETENTION_EVENT } from '../../src/collector/retention.js';
import { SqliteStore } from '../../src/collector/store/sqlite.js';
import type { ReadingStore, StoredReading } from '../../src/collector/store/store.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-retention-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

const DAY = 24 * 60 * 60 * 1000;
const NOW = 1_780_000_000_000;
const G1 = new Uint8Array(32).fill(0x11);
const G2 = new Uint8Array(32).fill(0x22);
const reading = (gateway: Uint8Array, seq: number, ageDays: number): StoredReading => ({ gateway, slot: 'tty-1', device: 'd', kind: 'serial', epoch: 1, seq, ts: NOW - ageDays * DAY, value: Uint8Array.of(seq) });

function logger(lines: Record<string, unknown>[]) {
  return pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
}

async function storeWithReadings(): Promise<SqliteStore> {
  const s = SqliteStore.open(join(dir, `c${++n}.db`));
  // Ages 0, 1.5, 3, 10 and 400 days for each gateway.
  await s.insert([G1, G2].flatMap((g) => [0, 1.5, 3, 10, 400].map((age, i) => reading(g, i, age))));
  return s;
}

const accepted = (gateway: Uint8Array, days: number, at: number) => ({ at, gateway, event: 'grant.accepted', detail: { grant: 'ab'.repeat(32), constraints: { retentionDays: days } } });

describe('collector retention', () => {
  it('deletes what is older than each gateway\'s retention, per gateway, and audits it', async () => {
    const store = await storeWithReadings();
    const lines: Record<string, unknown>[] = [];
    const r = await Retention.load(store, logger(lines), () => NOW);
    r.note(G1, 2);
    await r.sweep();
    expect((await store.query({ gateway: G1 })).map((x) => x.seq)).toEqual([0, 1]);
    // A gateway no grant was accepted from keeps everything.
    expect(await store.counts(G2)).toEqual(new Map([['tty-1', 5]]));
    const audit = (await store.auditLog(G1)).filter((e) => e.event === RETENTION_EVENT);
    expect(audit).toEqual([{ at: NOW, gateway: G1, event: RETENTION_EVENT, detail: { deleted: 3, before: new Date(NOW - 2 * DAY).toISOString(), retention_days: 2 } }]);
    // Nothing more to delete: no second audit entry.
    await r.sweep();
    expect((await store.auditLog(G1)).filter((e) => e.event === RETENTION_EVENT)).toHaveLength(1);
    expect(lines.filter((l) => l.event === RETENTION_EVENT)).toHaveLength(1);
    await store.close();
  });

  it('after a restart the retention comes from the audit trail: the latest accepted grant of each gateway', async () => {
    const store = await storeWithReadings();
    await store.audit(accepted(G1, 365, NOW - 10 * DAY));
    await store.audit(accepted(G1, 5, NOW - DAY)); // renewed with a shorter retention
    await store.audit(accepted(G2, 30, NOW - DAY));
    await store.audit({ at: NOW, gateway: G2, event: 'grant.refused', detail: { constraints: { retentionDays: 1 } } });
    const r = await Retention.load(store, logger([]), () => NOW);
    expect([r.daysFor(G1), r.daysFor(G2)]).toEqual([5, 30]);
    await r.sweep();
    expect((await store.query({ gateway: G1 })).map((x) => x.seq)).toEqual([0, 1, 2]);
    expect((await store.query({ gateway: G2 })).map((x) => x.seq)).toEqual([0, 1, 2, 3]);
    await store.close();
  });

  it('a sweep that fails is one warn line per gateway and the next sweep goes on', async () => {
    const real = await storeWithReadings();
    let fail = true;
    const store: ReadingStore = Object.assign(Object.create(real) as ReadingStore, {
      deleteBefore: (g: Uint8Array, before: number) => (fail ? Promise.reject(new Error('disk full')) : real.deleteBefore(g, before)),
    });
    const lines: Record<string, unknown>[] = [];
    const r = await Retention.load(store, logger(lines), () => NOW);
    r.note(G1, 2);
    await r.sweep();
    expect(lines.filter((l) => l.event === 'retention.failed')).toEqual([expect.objectContaining({ level: 40, reason: 'disk full' })]);
    expect(await real.counts(G1)).toEqual(new Map([['tty-1', 5]]));
    fail = false;
    await r.sweep();
    expect(await real.counts(G1)).toEqual(new Map([['tty-1', 2]]));
    await real.close();
  });
});
