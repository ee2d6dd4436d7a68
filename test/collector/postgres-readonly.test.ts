// `collector query` on PostgreSQL opens the store read-only (postgres.ts open({readOnly})): it ran
// the collector's CREATE TABLE IF NOT EXISTS, so a SELECT-only role (a reporting user) could not
// query at all, and a mistyped database got empty tables and exit 0 with nothing printed.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CollectorCode } from '../../src/collector/errors.js';
import { openStore } from '../../src/collector/store/open.js';
import { postgresUnavailable, startPostgres, stopAllPostgres, type PgCluster } from '../helpers/postgres.js';
import { runCli as run } from '../helpers/cli-run.js';

const pgSkip = postgresUnavailable();
let cluster: PgCluster | undefined;
afterAll(async () => {
  await cluster?.stop();
  await stopAllPostgres();
});

async function sql<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    return (await c.query<T>(text)).rows;
  } finally {
    await c.end();
  }
}
const tables = (url: string): Promise<string[]> => sql<{ t: string }>(url, "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").then((r) => r.map((x) => x.t));

describe.skipIf(pgSkip !== undefined)('collector query on PostgreSQL', () => {
  beforeAll(async () => {
    cluster = await startPostgres();
  }, 90_000);

  it('a database without the collector\'s tables is an error naming --db, and gets no table', async () => {
    const url = await cluster!.createDatabase();
    const r = await run('collector', 'query', '--db', url, '--json');
    expect(r.code, r.err).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/no collector database \(no table readings, audit\).*--db.*\[STORE_UNREACHABLE\]/s);
    expect(await tables(url)).toEqual([]);
  });

  it('a SELECT-only role reads a collector\'s database; nothing is written through a read-only open', async () => {
    const url = await cluster!.createDatabase();
    const w = await openStore(url);
    await w.insert([{ gateway: new Uint8Array(32).fill(7), slot: 's', device: 'd', kind: 'k', epoch: 1, seq: 1, ts: Date.UTC(2026, 0, 1), value: Uint8Array.of(0xf6) }]);
    await w.close();
    await sql(url, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'reader') THEN CREATE ROLE reader LOGIN; END IF; END $$");
    await sql(url, 'GRANT SELECT ON readings, audit TO reader');
    const reader = url.replace('//uzp@', '//reader@');
    // Without revocations it could be shown readings a revocation withdrew: refused, saying the grant to add.
    const refused = await run('collector', 'query', '--db', reader, '--json');
    expect(refused.code).toBe(1);
    expect(refused.out).toBe('');
    expect(refused.err).toMatch(/GRANT SELECT ON readings, audit, revocations.*\[STORE_REFUSED\]/s);
    await sql(url, 'GRANT SELECT ON revocations TO reader');
    const r = await run('collector', 'query', '--db', reader, '--json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ slot: 's', seq: 1, ts: '2026-01-01T00:00:00.000Z', value: null });
    // Even a role that could write does not through a read-only open.
    const ro = await openStore(url, { readOnly: true });
    try {
      await expect(ro.audit({ at: 1, gateway: new Uint8Array(32), event: 'x', detail: {} })).rejects.toMatchObject({ code: CollectorCode.STORE_FAILED, message: expect.stringContaining('25006') });
    } finally {
      await ro.close();
    }
  });
});
