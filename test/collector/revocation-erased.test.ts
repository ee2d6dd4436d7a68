// A revoked reading must not stay readable in the SQLite store's files (docs/COLLECTOR.md "Erasure").
// A deleted row is unlinked from the b-tree, its bytes left in the page's free space and in the
// pages freed; in WAL mode every page image a window's insert wrote stays in the -wal file until a
// checkpoint and a truncation: anyone with the files read the revoked values back. The readings here
// carry a byte pattern no other row has; after the revocation's deletion, neither the database file
// nor its WAL holds it — nor the SHA-256 a conflict row kept of a copy sent again — while the slot
// kept is still found there (the scan sees what the files hold). Each measure fails the first test
// alone: without secure_delete (and with FAST: the conflict rows' freed pages), without zeroing the
// values first (copies SQLite leaves when it moves rows between pages), without the WAL truncation.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { Purges, REVOKE_ERASE_PENDING_EVENT } from '../../src/collector/purges.js';
import { openStore } from '../../src/collector/store/open.js';
import type { ReadingStore, StoredReading } from '../../src/collector/store/store.js';
import { storeBackends } from '../helpers/store-backends.js';
import { revokeAndPurge } from '../helpers/store-revoke.js';

const { backends, stop } = storeBackends('uzp-erase-');
afterAll(stop);
const sqlite = backends.find((b) => b.name === 'sqlite')!;

const G = new Uint8Array(32).fill(0x5e);
const H = new Uint8Array(32).fill(0x48);
/** In every revoked value, and nowhere else. */
const GONE = Buffer.from('f0e1d2c3b4a5968778695a4b3c2d1e0f', 'hex');
/** In every value of the slot kept. */
const KEPT = Buffer.from('0f1e2d3c4b5a69788796a5b4c3d2e1f0', 'hex');

/** A reading of `slot` whose value (a CBOR byte string) holds `mark` after its seq, `extra` bytes more. */
function reading(slot: string, seq: number, mark: Buffer, extra = 0): StoredReading {
  const body = Buffer.concat([Buffer.from(`${slot}:${seq}:`), mark, Buffer.alloc(extra, 0x41)]);
  // CBOR major type 2, two-byte length: the store keeps values as given.
  return { gateway: G, slot, device: 'meter', kind: 'register', epoch: 1, seq, ts: 1_000 + seq, value: Buffer.concat([Uint8Array.of(0x59, body.length >> 8, body.length & 0xff), body]) };
}

/** Whether any of `needles` is in the database file, and in its WAL (an absent WAL holds nothing). */
function onDisk(file: string, ...needles: Buffer[]): { db: boolean; wal: boolean } {
  const has = (f: string): boolean => {
    const bytes = existsSync(f) ? readFileSync(f) : Buffer.alloc(0);
    return needles.some((n) => bytes.includes(n));
  };
  return { db: has(file), wal: has(`${file}-wal`) };
}

/** The SHA-256s (hex) the conflict rows keep of the copies sent again. */
async function fill(s: ReadingStore): Promise<Buffer[]> {
  // Whole pages of revoked rows (freed entirely); pages shared with the slot kept, values of
  // varied length (cells deleted among live ones, and deletes that leave pages underfull, so
  // SQLite moves the rows left between neighbouring pages); a value over a page long (its overflow
  // pages freed).
  await s.insert(Array.from({ length: 1_000 }, (_, i) => reading('gone', i, GONE)));
  await s.insert(Array.from({ length: 12_000 }, (_, i) => (i % 3 === 0 ? reading('keep', i, KEPT, (i * 7) % 50) : reading('gone', 1_000 + i, GONE, (i * 7) % 50))));
  await s.insert([reading('gone', 20_000, GONE, 20_000)]);
  // Copies sent again with other values: their conflict rows keep the sent values' SHA-256, pages
  // of them (freed whole when the readings go).
  const resent = Array.from({ length: 300 }, (_, i) => ({ ...reading('gone', i, GONE), value: Uint8Array.of(0x19, i >> 8, i & 0xff) }));
  expect((await s.insert(resent)).conflicts).toHaveLength(300);
  return resent.map((r) => Buffer.from(createHash('sha256').update(r.value).digest('hex')));
}

describe('revoked readings erased from the SQLite files', () => {
  it("after the revocation's deletion neither the database file nor its WAL holds a revoked value or a conflict row's digest of one", async () => {
    const file = await sqlite.fresh();
    const s = await openStore(file);
    let open = true;
    try {
      const digests = await fill(s);
      // The scan finds what the files hold: everything is there before the revocation.
      expect(onDisk(file, GONE)).not.toEqual({ db: false, wal: false });
      expect(onDisk(file, digests[0]!, digests[299]!)).not.toEqual({ db: false, wal: false });

      // A retention sweep first (of another gateway): its deletes do without secure_delete, the
      // revocation's after it not.
      await s.insert(Array.from({ length: 5_000 }, (_, i) => ({ ...reading('old', i, Buffer.from('past retention')), gateway: H })));
      expect(await s.deleteBefore(H, 1_000_000)).toBe(5_000);
      expect(await revokeAndPurge(s, G, ['gone'])).toBe(9_001);
      // While the collector runs (its WAL in place): before the fix, the WAL held every insert's
      // page images and the database file the cells and pages the deletion let go.
      expect(onDisk(file, GONE)).toEqual({ db: false, wal: false });
      expect(onDisk(file, ...digests)).toEqual({ db: false, wal: false });

      // After close (SQLite checkpoints the WAL into the file and removes it).
      await s.close();
      open = false;
      expect(onDisk(file, GONE)).toEqual({ db: false, wal: false });
      expect(onDisk(file, ...digests)).toEqual({ db: false, wal: false });
      expect(onDisk(file, KEPT).db).toBe(true);
      const again = await openStore(file, { readOnly: true });
      try {
        expect(await again.counts(G)).toEqual(new Map([['keep', 4_000]]));
      } finally {
        await again.close();
      }
    } finally {
      if (open) await s.close();
    }
  });

  it('a reader keeping the WAL from being truncated: a warn line, and the next retention sweep erases it', async () => {
    const file = await sqlite.fresh();
    const s = await openStore(file);
    const reader = new DatabaseSync(file, { readOnly: true });
    const lines: { event?: string; level?: number }[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as { event?: string }) });
    try {
      await fill(s);
      // A read transaction on the WAL as it is now (a `collector query` page, a backup tool).
      reader.exec('BEGIN');
      reader.prepare('SELECT count(*) FROM readings').get();
      const scope = { revocation: new Uint8Array(32).fill(0x77), gateway: G, slots: ['gone'] };
      await s.revoke(scope, { at: 1, gateway: G, event: 'revoke.applied', detail: {} });
      expect(await new Purges(s, logger).finish(scope)).toBe(9_001);
      expect(lines.filter((l) => l.event === REVOKE_ERASE_PENDING_EVENT).map((l) => l.level)).toEqual([40]);
      expect(onDisk(file, GONE).wal).toBe(true);

      reader.exec('COMMIT');
      // The next retention sweep's delete (nothing is old enough to go) truncates the WAL.
      expect(await s.deleteBefore(G, 0)).toBe(0);
      expect(onDisk(file, GONE)).toEqual({ db: false, wal: false });
      // The revocation sent again is answered as before, nothing owed.
      expect(await s.purge(scope.revocation, () => ({ at: 3, gateway: G, event: 'revoke.deleted', detail: {} }))).toEqual({ deleted: 9_001, finished: false, erased: true });
    } finally {
      if (reader.isOpen) reader.close();
      await s.close();
    }
  });

  it("a reader that ends its read transaction while the purge waits: the WAL is truncated then, the event loop served meanwhile", async () => {
    const file = await sqlite.fresh();
    const s = await openStore(file);
    const reader = new DatabaseSync(file, { readOnly: true });
    const lines: { event?: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as { event?: string }) });
    try {
      await fill(s);
      reader.exec('BEGIN');
      reader.prepare('SELECT count(*) FROM readings').get();
      const scope = { revocation: new Uint8Array(32).fill(0x79), gateway: G, slots: ['gone'] };
      await s.revoke(scope, { at: 1, gateway: G, event: 'revoke.applied', detail: {} });
      // The reader is in this process: it can end its transaction only if the loop turns while the
      // truncation waits for it. Before, SQLite's busy handler waited inside the call, holding the
      // loop for the whole busy timeout; the reader's COMMIT ran after, and the erasure was owed.
      const watcher = new DatabaseSync(file, { readOnly: true });
      const finishing = new Purges(s, logger).finish(scope);
      try {
        // Once the revocation is marked done its last chunk has committed, and the truncation is
        // next, in the same turn of the loop.
        for (;;) {
          await new Promise((r) => setTimeout(r, 10));
          const row = watcher.prepare('SELECT done FROM revocations').get() as { done: number } | undefined;
          if (row?.done === 1) break;
        }
      } finally {
        watcher.close();
      }
      reader.exec('COMMIT');
      expect(await finishing).toBe(9_001);
      expect(lines.filter((l) => l.event === REVOKE_ERASE_PENDING_EVENT)).toEqual([]);
      expect(onDisk(file, GONE)).toEqual({ db: false, wal: false });
    } finally {
      if (reader.isOpen) reader.close();
      await s.close();
    }
  });

  it("a statement of the store's own still reading (an audit iterator) does not fail the purge: the erasure is owed", async () => {
    const file = await sqlite.fresh();
    const s = await openStore(file);
    try {
      await fill(s);
      const scope = { revocation: new Uint8Array(32).fill(0x78), gateway: G, slots: ['gone'] };
      await s.revoke(scope, { at: 1, gateway: G, event: 'revoke.applied', detail: {} });
      // What CollectorConsole.open() and startup do: iterate audit entries across awaits.
      const reading = s.auditEvents('revoke.applied')[Symbol.asyncIterator]();
      expect((await reading.next()).done).toBe(false);
      // Before: the truncation failed SQLITE_LOCKED, and the purge with it (STORE_FAILED).
      expect(await s.purge(scope.revocation, (deleted) => ({ at: 2, gateway: G, event: 'revoke.deleted', detail: { deleted } }))).toEqual({ deleted: 9_001, finished: true, erased: false });
      await reading.return?.();
      expect(await s.deleteBefore(G, 0)).toBe(0);
      expect(onDisk(file, GONE)).toEqual({ db: false, wal: false });
    } finally {
      await s.close();
    }
  });

  it("a store opened on a WAL that still holds a finished revocation's deletion (the collector stopped before truncating it) truncates it", async () => {
    const file = await sqlite.fresh();
    let s = await openStore(file);
    const reader = new DatabaseSync(file, { readOnly: true });
    try {
      await fill(s);
      reader.exec('BEGIN');
      reader.prepare('SELECT count(*) FROM readings').get();
      expect(await revokeAndPurge(s, G, ['gone'])).toBe(9_001);
      // Closed while the reader is there: no checkpoint at close, the WAL stays as it is.
      await s.close();
      reader.exec('COMMIT');
      reader.close();
      expect(onDisk(file, GONE).wal).toBe(true);
      s = await openStore(file);
      expect(onDisk(file, GONE)).toEqual({ db: false, wal: false });
      expect(await s.counts(G)).toEqual(new Map([['keep', 4_000]]));
    } finally {
      if (reader.isOpen) reader.close();
      await s.close();
    }
  });
});
