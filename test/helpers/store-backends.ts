// The two collector stores as tests run them side by side (describe.each): a fresh database of
// each, and SQL on it through a connection of the test's own, not the store's — to look at what a
// store wrote, or to stage what a store must survive (a trigger that fails a write, a row from an
// older layout). PostgreSQL runs only where a server can be started (postgresUnavailable()).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { postgresUnavailable, startPostgres, stopAllPostgres, type PgCluster } from './postgres.js';

export interface StoreBackend {
  readonly name: 'sqlite' | 'postgres';
  /** No server for this backend here: its tests are skipped. */
  readonly skip: boolean;
  /** How a text key column is declared in DDL a test writes (PostgreSQL's tables compare in byte order). */
  readonly collate: string;
  /** A new, empty database: its spec for openStore(). */
  fresh(): Promise<string>;
  /**
   * Runs `text` (statements separated by ";\n") in one transaction on its own connection; the rows
   * of the last statement.
   */
  sql(spec: string, text: string): Promise<Record<string, unknown>[]>;
}

/** Both backends, databases under a temporary directory named by `prefix`; stop() after all tests. */
export function storeBackends(prefix: string): { readonly backends: readonly StoreBackend[]; stop(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const pgSkip = postgresUnavailable();
  let cluster: PgCluster | undefined;
  let files = 0;
  const backends: StoreBackend[] = [
    {
      name: 'sqlite',
      skip: false,
      collate: '',
      fresh: async () => join(dir, `s${++files}.db`),
      sql: async (spec, text) => {
        const db = new DatabaseSync(spec);
        try {
          db.exec('BEGIN');
          let rows: Record<string, unknown>[] = [];
          for (const s of text.split(';\n').filter((x) => x.trim() !== '')) rows = db.prepare(s).all() as Record<string, unknown>[];
          db.exec('COMMIT');
          return rows;
        } finally {
          db.close();
        }
      },
    },
    {
      name: 'postgres',
      skip: pgSkip !== undefined,
      collate: ' COLLATE "C"',
      fresh: async () => (cluster ??= await startPostgres()).createDatabase(),
      sql: async (spec, text) => {
        const c = new pg.Client({ connectionString: spec });
        await c.connect();
        try {
          const res = await c.query(`BEGIN;\n${text};\nCOMMIT`);
          const all = Array.isArray(res) ? res : [res];
          return (all[all.length - 2]?.rows ?? []) as Record<string, unknown>[];
        } finally {
          await c.end();
        }
      },
    },
  ];
  return {
    backends,
    stop: async () => {
      await cluster?.stop();
      await stopAllPostgres();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
