// PostgreSQL behind a network that goes silent (a partition, a frozen host): a TCP proxy this test
// controls stops forwarding but keeps both sockets open, so neither side sees a reset. Before the
// bounds in postgres.ts an insert waited until TCP gave up (~15 min), held its pooled connection,
// and close() (SIGTERM) waited for it; and a pool kept busy by a lock was reported as "cannot reach
// PostgreSQL". The bounds are shortened here (PgTimeouts); the race() bounds only stop a hang.

import { createServer, connect, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CollectorCode } from '../../src/collector/errors.js';
import { PostgresStore } from '../../src/collector/store/postgres.js';
import type { StoredReading } from '../../src/collector/store/store.js';
import { postgresUnavailable, startPostgres, stopAllPostgres, type PgCluster } from '../helpers/postgres.js';

const pgSkip = postgresUnavailable();
let cluster: PgCluster | undefined;
afterAll(async () => {
  await cluster?.stop();
  await stopAllPostgres();
});

/** Forwards 127.0.0.1:port to the cluster until frozen; frozen, it swallows bytes both ways. */
class SilentProxy {
  frozen = false;
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  port = 0;
  constructor(private readonly target: number) {}
  async start(): Promise<void> {
    this.server = createServer((c) => {
      const u = connect(this.target, '127.0.0.1');
      this.sockets.add(c).add(u);
      c.on('data', (d) => void (this.frozen || u.write(d)));
      u.on('data', (d) => void (this.frozen || c.write(d)));
      for (const [a, b] of [[c, u], [u, c]] as const) {
        a.on('error', () => {});
        a.on('close', () => b.destroy());
      }
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server?.close(r));
  }
}

const GW = new Uint8Array(32).fill(0x5a);
let seq = 0;
const row = (): StoredReading => ({ gateway: GW, slot: 's', device: 'd', kind: 'k', epoch: 1, seq: seq++, ts: 1_780_000_000_000, value: Uint8Array.of(1) });
/** The outcome of p, or 'pending' if it has not settled in ms: a hang bound, not a performance check. */
const race = <T>(p: Promise<T>, ms: number): Promise<string> =>
  Promise.race([p.then(() => 'resolved', (e: { code?: string }) => `rejected ${e.code}`), new Promise<string>((r) => setTimeout(() => r('pending'), ms))]);

describe.skipIf(pgSkip !== undefined)('PostgresStore behind a silent network', () => {
  beforeAll(async () => {
    cluster = await startPostgres();
  }, 90_000);

  async function via(): Promise<{ proxy: SilentProxy; url: string }> {
    const db = new URL(await cluster!.createDatabase());
    const proxy = new SilentProxy(cluster!.port);
    await proxy.start();
    db.port = String(proxy.port);
    return { proxy, url: db.toString() };
  }

  it('an insert and a query the server never answers fail STORE_UNREACHABLE after queryMs; close() returns', async () => {
    const { proxy, url } = await via();
    const s = await PostgresStore.open(url, { queryMs: 400, connectMs: 400, closeMs: 400 });
    try {
      expect(await s.insert([row()])).toEqual({ inserted: 1, duplicates: 0, conflicts: [] });
      proxy.frozen = true;
      expect(await race(s.insert([row()]), 10_000)).toBe(`rejected ${CollectorCode.STORE_UNREACHABLE}`);
      expect(await race(s.query({}), 10_000)).toBe(`rejected ${CollectorCode.STORE_UNREACHABLE}`);
      expect(await race(s.close(), 10_000)).toBe('resolved');
    } finally {
      await proxy.stop();
    }
  }, 30_000);

  it('close() during a statement that never ends cuts it after closeMs: the statement fails, close() returns', async () => {
    const { proxy, url } = await via();
    const s = await PostgresStore.open(url, { queryMs: 600_000, closeMs: 300 });
    try {
      await s.insert([row()]);
      proxy.frozen = true;
      const stuck = race(s.insert([row()]), 10_000);
      await new Promise((r) => setTimeout(r, 50));
      expect(await race(s.close(), 10_000)).toBe('resolved');
      expect(await stuck).toMatch(/^rejected /);
    } finally {
      await proxy.stop();
    }
  }, 30_000);

  it('a pool kept busy by a lock: the windows that find no connection fail STORE_BUSY, not STORE_UNREACHABLE', async () => {
    const url = await cluster!.createDatabase();
    const s = await PostgresStore.open(url, { poolWaitMs: 300 });
    const admin = new pg.Client(url);
    await admin.connect();
    try {
      await admin.query('BEGIN');
      await admin.query('LOCK TABLE readings IN EXCLUSIVE MODE');
      const windows = Array.from({ length: 6 }, () => race(s.insert([row()]), 10_000));
      // The four that got a connection wait on the lock; the other two time out waiting for one.
      const busy = windows.slice(4);
      expect(await Promise.all(busy)).toEqual([`rejected ${CollectorCode.STORE_BUSY}`, `rejected ${CollectorCode.STORE_BUSY}`]);
      await admin.query('COMMIT');
      expect(await Promise.all(windows.slice(0, 4))).toEqual(['resolved', 'resolved', 'resolved', 'resolved']);
    } finally {
      await admin.end();
      await s.close();
    }
  }, 30_000);

  it('the server cancels a statement past statementMs (57014), and sessions carry the idle-in-transaction bound', async () => {
    const url = await cluster!.createDatabase();
    const s = await PostgresStore.open(url, { statementMs: 300, idleInTransactionMs: 1234 });
    const admin = new pg.Client(url);
    await admin.connect();
    try {
      const pool = (s as unknown as { pool: pg.Pool }).pool;
      expect((await pool.query('SHOW idle_in_transaction_session_timeout')).rows[0]).toEqual({ idle_in_transaction_session_timeout: '1234ms' });
      await admin.query('BEGIN');
      await admin.query('LOCK TABLE readings IN EXCLUSIVE MODE');
      await expect(s.insert([row()])).rejects.toMatchObject({ code: CollectorCode.STORE_FAILED, message: expect.stringContaining('57014') });
      await admin.query('COMMIT');
    } finally {
      await admin.end();
      await s.close();
    }
  }, 30_000);
});
