// One database, one collector identity (store.ts claim()): readings and audit rows carry no
// collector, so two collectors on one database applied each other's revocations, retention and
// relationship refusals to readings the other had receipted (/tmp/review t15). The first identity
// to open it is stored in its meta table; another is refused, naming both, on SQLite and PostgreSQL.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Collector } from '../../src/collector/collector.js';
import { CollectorCode } from '../../src/collector/errors.js';
import { openStore } from '../../src/collector/store/open.js';
import { loadKeyFile } from '../../src/files/keyfile.js';
import { nodeProvider } from '../../src/uzp/crypto/node.js';
import { runCli } from '../helpers/cli-run.js';
import { postgresUnavailable, startPostgres, stopAllPostgres, type PgCluster } from '../helpers/postgres.js';

const pgSkip = postgresUnavailable();
const dir = mkdtempSync(join(tmpdir(), 'uzp-owner-'));
let cluster: PgCluster | undefined;
afterAll(async () => {
  await cluster?.stop();
  await stopAllPostgres();
  rmSync(dir, { recursive: true, force: true });
});

const A = new Uint8Array(32).fill(0xaa);
const B = new Uint8Array(32).fill(0xbb);
const backends = [
  { name: 'sqlite', skip: false, fresh: async () => join(dir, `${Math.random()}.db`) },
  { name: 'postgres', skip: pgSkip !== undefined, fresh: async () => (cluster ??= await startPostgres()).createDatabase() },
];

describe.each(backends)('ReadingStore.claim: $name', (b) => {
  it.skipIf(b.skip)('the first identity owns the database, also after a reopen; another is STORE_OWNED naming both', async () => {
    const spec = await b.fresh();
    const first = await openStore(spec);
    await first.claim(A);
    await first.claim(A); // the same collector, again
    await first.close();
    const second = await openStore(spec);
    try {
      await expect(second.claim(B)).rejects.toMatchObject({ code: CollectorCode.STORE_OWNED, message: expect.stringMatching(new RegExp(`${'aa'.repeat(32)}.*${'bb'.repeat(32)}.*--db`)) });
      await expect(second.claim(A)).resolves.toBeUndefined();
    } finally {
      await second.close();
    }
  }, 90_000);

  it.skipIf(b.skip)('two identities claiming a fresh database at once: exactly one wins', async () => {
    const spec = await b.fresh();
    const [s1, s2] = [await openStore(spec), await openStore(spec)];
    try {
      const out = await Promise.allSettled([s1.claim(A), s2.claim(B)]);
      expect(out.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    } finally {
      await s1.close();
      await s2.close();
    }
  }, 90_000);
});

describe('Collector.create', () => {
  it("claims the database for the collector's key before reading anything: another collector's database is STORE_OWNED", async () => {
    const key = join(dir, 'col.key');
    expect((await runCli('keygen', '--out', key)).code).toBe(0);
    const mine = loadKeyFile(nodeProvider, key).cid;
    const store = await openStore(join(dir, 'shared.db'));
    try {
      await store.claim(A); // another collector's database
      // Only the identity is real: the claim comes first, so nothing else of the config is read.
      const config = { identity: { key, pcert: join(dir, 'absent.pcert') } } as unknown as Parameters<typeof Collector.create>[0]['config'];
      await expect(Collector.create({ config, store, logger: pino({ level: 'silent' }) })).rejects.toMatchObject({ code: CollectorCode.STORE_OWNED, message: expect.stringContaining(Buffer.from(mine).toString('hex')) });
    } finally {
      await store.close();
    }
  });
});
