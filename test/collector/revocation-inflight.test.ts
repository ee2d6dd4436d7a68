// A revocation applied by one session of a gateway while another session of the same gateway is
// storing a window (src/collector/intake.ts, consents.ts turn()). Sessions of one gateway overlap:
// a closed session's queued windows are still stored while the gateway's next session sends its
// revocations. Before, a window checked against the consent record before the revocation was noted
// could commit after the revocation was recorded and its deletion done: its readings stayed stored
// and served, and the revocation was confirmed as done. Now the check and the insert are one turn of
// the gateway, and recording a revocation another: the window commits first and the deletion finds
// it, or the window is checked after and refused.
//
// On PostgreSQL the window's insert is held in flight for real: another connection holds an
// uncommitted row of one of its keys (the insert waits for that row lock, as behind a slow or
// contended insert). A new grant's readings of the same slot are still stored afterwards: a
// revocation withdraws its grant's consent, not the slot for ever (docs/PROFILE.md "Revocation").

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { Consents } from '../../src/collector/consents.js';
import { serveIntake, type IntakeStats } from '../../src/collector/intake.js';
import { Purges } from '../../src/collector/purges.js';
import { receiptSigner } from '../../src/collector/receipts.js';
import { PostgresStore } from '../../src/collector/store/postgres.js';
import { SqliteStore } from '../../src/collector/store/sqlite.js';
import type { ReadingStore } from '../../src/collector/store/store.js';
import { issueDiscoveryGrant, issueDiscoveryRevocation } from '../../src/gateway/publisher/issue.js';
import { decodePublish, encodePublish, type PublishMessage, type WireReading } from '../../src/hil/publish-messages.js';
import type { DiscoveryGrantBody } from '../../src/uzp/artefacts/discovery-grant.js';
import { openArtefact } from '../../src/uzp/artefacts/open.js';
import { toHex } from '../../src/uzp/bytes.js';
import type { Session } from '../../src/uzp/session/session.js';
import { postgresUnavailable, startPostgres, stopAllPostgres, type PgCluster } from '../helpers/postgres.js';
import { publishPair } from '../helpers/publish-pair.js';

const pgSkip = postgresUnavailable();
const dir = mkdtempSync(join(tmpdir(), 'uzp-revinflight-'));
let cluster: PgCluster | undefined;
afterAll(async () => {
  await cluster?.stop();
  await stopAllPostgres();
  rmSync(dir, { recursive: true, force: true });
});

const BODY: DiscoveryGrantBody = {
  scope: [{ slot: 'tty-1' }, { slot: 'tty-2' }],
  purposes: ['telemetry.store'],
  constraints: { retentionDays: 30 },
  policy: { allow: ['telemetry.store'], deny: ['ai.train'], retentionDays: 30, redistribution: false },
};
/**
 * How long the test lets a revocation run while the window is held: before the fix it completes at
 * once (a few statements); after it, it waits for the window. Only a bound on how long the test
 * looks, never a result: the assertions hold whenever the hold ends.
 */
const HOLD_MS = 1_500;

const row = (slot: string, seq: number): WireReading => ({ slot, device: 'd', kind: 'serial', epoch: 1, seq, ts: 1_000 + seq, value: Uint8Array.of(1) });

/** Two sessions of one gateway served by one collector (one store, one consent record). */
function twoSessions(store: ReadingStore) {
  const p = publishPair();
  const stats: IntakeStats = { sessions: 0, windows: 0, stored: 0, duplicates: 0, conflicts: 0, refused: 0 };
  const consents = new Consents();
  const silent = pino({ level: 'silent' });
  const o = {
    provider: p.d.provider,
    self: p.col.id.cid,
    store,
    receipts: receiptSigner(p.d.provider, p.col.id.signer, ['telemetry.store']),
    consents,
    purges: new Purges(store, silent),
    purposes: ['telemetry.store'],
    skewS: 300,
    logger: silent,
    now: () => p.d.clock(),
    stats,
  };
  const open = (s: { gateway: Session; collector: Session; grant: Parameters<typeof serveIntake>[1] }) => {
    serveIntake(s.collector, s.grant, o);
    const ch = s.gateway.openChannel();
    const got: PublishMessage[] = [];
    const waiters: ((m: PublishMessage) => void)[] = [];
    ch.on('message', (b: Uint8Array) => {
      const m = decodePublish(b);
      const w = waiters.shift();
      if (w !== undefined) w(m);
      else got.push(m);
    });
    return {
      send: (m: PublishMessage): void => void ch.trySend(encodePublish(m)),
      next: (): Promise<PublishMessage> => (got.length > 0 ? Promise.resolve(got.shift()!) : new Promise((r) => waiters.push(r))),
    };
  };
  const grant = (nowMs: number): { bytes: Uint8Array; id: Uint8Array } => {
    const bytes = issueDiscoveryGrant(p.d.provider, p.gw.id.signer, { collector: p.col.id.cid, body: BODY, nowMs, validS: 86_400 });
    return { bytes, id: openArtefact(p.d.provider, bytes, 'discovery-grant').objectId };
  };
  const announce = (grantBytes: Uint8Array): PublishMessage => ({ t: 'announce', action: 'new', board: 'virtual', catalogue: [], grant: grantBytes, dropped: {}, digests: { catalogue: new Uint8Array(32) } });
  const revoke = (grantId: Uint8Array, slots?: string[]): PublishMessage => ({
    t: 'revoke',
    rev: issueDiscoveryRevocation(p.d.provider, p.gw.id.signer, { collector: p.col.id.cid, grantId, ...(slots !== undefined ? { slots } : {}), nowMs: p.d.clock() }),
  });
  return { p, a: open(p), b: open(p.another()), grant, announce, revoke, stats };
}

describe('a revocation applied while another session of the gateway stores a window', () => {
  it.skipIf(pgSkip !== undefined)('PostgreSQL, the window held in flight by a row lock: its readings are deleted with the rest, none served; a new grant of the slot is stored', async () => {
    cluster ??= await startPostgres();
    const url = await cluster.createDatabase();
    const store = await PostgresStore.open(url);
    const locker = new pg.Client({ connectionString: url });
    await locker.connect();
    try {
      const t = twoSessions(store);
      const gateway = t.p.gw.id.cid;
      const g = t.grant(t.p.d.clock());
      for (const s of [t.a, t.b]) {
        s.send(t.announce(g.bytes));
        expect((await s.next()).t).toBe('accepted');
      }
      t.a.send({ t: 'readings', w: 1, rows: [row('tty-1', 0), row('tty-1', 1)] });
      expect((await t.a.next()).t).toBe('receipt');
      // Another connection holds seq 3 uncommitted: session A's next window waits for it mid-insert.
      await locker.query('BEGIN');
      await locker.query("INSERT INTO readings VALUES ($1, 'tty-1', 'd', 'serial', 1, 3, 1003, '\\x01')", [toHex(gateway)]);
      t.a.send({ t: 'readings', w: 2, rows: [row('tty-1', 2), row('tty-1', 3), row('tty-1', 4)] });
      const waitingOnLock = async (): Promise<boolean> => Number((await locker.query<{ n: string }>('SELECT count(*) AS n FROM pg_locks WHERE NOT granted')).rows[0]!.n) > 0;
      while (!(await waitingOnLock())) await new Promise((r) => setTimeout(r, 20));
      // Session B revokes tty-1 meanwhile.
      t.b.send(t.revoke(g.id, ['tty-1']));
      const revoked = t.b.next();
      await Promise.race([revoked, new Promise((r) => setTimeout(r, HOLD_MS))]);
      await locker.query('ROLLBACK');
      expect((await t.a.next()).t).toBe('receipt');
      expect((await revoked).t).toBe('revoked');
      // Nothing of tty-1 is stored or served, and the revocation is done.
      expect(await store.query({ slot: 'tty-1' })).toEqual([]);
      expect(await store.counts(gateway)).toEqual(new Map());
      expect(await store.unpurged()).toEqual([]);
      // Session A's grant still stores its other slot, not the revoked one.
      t.a.send({ t: 'readings', w: 3, rows: [row('tty-1', 5), row('tty-2', 0)] });
      expect((await t.a.next()).t).toBe('receipt');
      expect(await store.counts(gateway)).toEqual(new Map([['tty-2', 1]]));
      // A new grant of tty-1 is a new consent: its readings are stored.
      t.p.d.advance(2);
      const g2 = t.grant(t.p.d.clock());
      t.a.send(t.announce(g2.bytes));
      expect((await t.a.next()).t).toBe('accepted');
      t.a.send({ t: 'readings', w: 4, rows: [row('tty-1', 10)] });
      expect((await t.a.next()).t).toBe('receipt');
      expect(await store.counts(gateway)).toEqual(new Map([['tty-1', 1], ['tty-2', 1]]));
    } finally {
      await locker.end();
      await store.close();
    }
  });

  it('SQLite, a whole grant revoked by one session: the other session stores nothing more under it', async () => {
    const store = SqliteStore.open(join(dir, 'whole.db'));
    try {
      const t = twoSessions(store);
      const g = t.grant(t.p.d.clock());
      for (const s of [t.a, t.b]) {
        s.send(t.announce(g.bytes));
        expect((await s.next()).t).toBe('accepted');
      }
      t.b.send(t.revoke(g.id));
      expect((await t.b.next()).t).toBe('revoked');
      // Before: session A checked only revoked slots, and went on storing under the revoked grant.
      t.a.send({ t: 'readings', w: 1, rows: [row('tty-1', 0), row('tty-2', 0)] });
      expect((await t.a.next()).t).toBe('receipt');
      expect(await store.counts(t.p.gw.id.cid)).toEqual(new Map());
      expect(t.stats.refused).toBe(2);
    } finally {
      await store.close();
    }
  });
});
