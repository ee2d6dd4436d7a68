// Startup reads of the audit trail (Consents.load, Retention.load, CollectorConsole.open): each read
// the whole trail — every grant.accepted with its catalogue, every refusal — into memory, three
// times. Now each selects only the event it needs (an index on (event, id)), one row at a time.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { Consents, REVOKE_EVENT } from '../../src/collector/consents.js';
import { CollectorConsole } from '../../src/collector/console-source.js';
import { GRANT_ACCEPTED_EVENT, Retention } from '../../src/collector/retention.js';
import { ObservedStore } from '../../src/collector/store/observed.js';
import { openStore } from '../../src/collector/store/open.js';
import { SqliteStore } from '../../src/collector/store/sqlite.js';
import type { AuditEntry, ReadingStore } from '../../src/collector/store/store.js';
import { postgresUnavailable, startPostgres, stopAllPostgres, type PgCluster } from '../helpers/postgres.js';

const pgSkip = postgresUnavailable();
const dir = mkdtempSync(join(tmpdir(), 'uzp-auditstart-'));
let cluster: PgCluster | undefined;
afterAll(async () => {
  await cluster?.stop();
  await stopAllPostgres();
  rmSync(dir, { recursive: true, force: true });
});

const G1 = new Uint8Array(32).fill(0x01);
const G2 = new Uint8Array(32).fill(0x02);
const G3 = new Uint8Array(32).fill(0x03);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

async function trail(s: ReadingStore): Promise<void> {
  const e = (at: number, gateway: Uint8Array, event: string, detail: Record<string, unknown>): AuditEntry => ({ at, gateway, event, detail });
  for (const x of [
    e(1, G1, GRANT_ACCEPTED_EVENT, { name: 'old', constraints: { retentionDays: 30 } }),
    e(2, G1, 'readings.refused', { readings: 3 }),
    e(3, G2, 'grant.refused', { code: 'DISCOVERY_POLICY' }),
    e(4, G1, REVOKE_EVENT, { grant: 'ab'.repeat(32), slots: ['tty-1'], deleted: 2 }),
    e(5, G1, GRANT_ACCEPTED_EVENT, { name: 'new', constraints: { retentionDays: 7 } }),
    e(6, G3, REVOKE_EVENT, { grant: 'cd'.repeat(32), deleted: 0 }),
  ])
    await s.audit(x);
}

const backends = [
  { name: 'sqlite', skip: false, fresh: async () => join(dir, `${Math.random()}.db`) },
  { name: 'postgres', skip: pgSkip !== undefined, fresh: async () => (cluster ??= await startPostgres()).createDatabase() },
];

describe.each(backends)('startup reads of the audit trail: $name', (b) => {
  it.skipIf(b.skip)('auditEvents() gives one event oldest first; consents, retention and the console load from it, never the whole trail', async () => {
    const inner = await openStore(await b.fresh());
    try {
      await trail(inner);
      const events: string[] = [];
      for await (const e of inner.auditEvents(GRANT_ACCEPTED_EVENT)) events.push(`${e.at}:${String(e.detail.name)}`);
      expect(events).toEqual(['1:old', '5:new']);
      expect((await inner.auditGateways()).map(hex).sort()).toEqual([G1, G2, G3].map(hex));
      const store = new ObservedStore(inner);
      store.auditLog = () => Promise.reject(new Error('the whole trail was read'));
      const consents = await Consents.load(store);
      expect([...consents.revokedSlots(Buffer.from('ab'.repeat(32), 'hex'))]).toEqual(['tty-1']);
      expect(consents.isRevoked(Buffer.from('cd'.repeat(32), 'hex'))).toBe(true);
      expect((await Retention.load(store, pino({ level: 'silent' }))).daysFor(G1)).toBe(7);
      const con = await CollectorConsole.open(store, () => []);
      expect((await con.fleet()).map((g) => [g.cid, g.name])).toEqual([
        [hex(G1), 'new'],
        [hex(G2), undefined],
        [hex(G3), undefined],
      ]);
      con.close();
    } finally {
      await inner.close();
    }
  }, 90_000);
});

describe('SqliteStore.auditEvents', () => {
  it('its plan searches the (event, id) index, no scan of the trail nor a sort', async () => {
    const s = SqliteStore.open(join(dir, 'plan.db'));
    await trail(s);
    const db = (s as unknown as { db: DatabaseSync }).db;
    const prepare = db.prepare.bind(db);
    const seen: string[] = [];
    db.prepare = ((sql: string) => (seen.push(sql), prepare(sql))) as typeof db.prepare;
    for await (const _ of s.auditEvents(REVOKE_EVENT));
    db.prepare = prepare;
    expect(seen).toHaveLength(1);
    const plan = prepare(`EXPLAIN QUERY PLAN ${seen[0]}`).all(REVOKE_EVENT).map((x) => String(x.detail)).join('; ');
    expect(plan).toMatch(/SEARCH audit USING (COVERING )?INDEX audit_event/);
    expect(plan).not.toMatch(/TEMP B-TREE/);
    await s.close();
  });
});
