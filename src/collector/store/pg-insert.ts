// One insert() batch on PostgreSQL (postgres.ts), inside the transaction the store opened: the
// readings in multi-row INSERT … ON CONFLICT DO NOTHING statements of CHUNK_ROWS, what they added
// to slot_summary, then the duplicates compared with what is stored (conflicts.ts) and the
// clashing ones audited once.

import type pg from 'pg';
import { toHex } from '../../uzp/bytes.js';
import { auditDetailText } from './checks.js';
import { conflictEntry, copyOf, sameCopy, type ReadingCopy } from './conflicts.js';
import { CHUNK_ROWS, COLUMNS } from './pg-settings.js';
import type { AuditEntry, InsertResult, StoredReading } from './store.js';

interface Keyed {
  readonly r: StoredReading;
  /** The gateway's CID as hex, as the tables hold it. */
  readonly gw: string;
}

/** A reading's identity as text, for matching rows the server returns. */
const keyOf = (gw: string, slot: string, epoch: number | string, seq: number | string): string => JSON.stringify([gw, slot, String(epoch), String(seq)]);

/**
 * Stores `readings` through `c` (in a transaction). Every transaction takes the unique index's keys
 * in one order, so two overlapping batches wait for each other instead of deadlocking (each would
 * hold a key the other needs).
 */
export async function insertBatch(c: pg.PoolClient, readings: readonly StoredReading[], at: number): Promise<InsertResult> {
  const rows: Keyed[] = readings.map((r) => ({ r, gw: toHex(r.gateway) })).sort((a, b) => cmp(a.gw, b.gw) || cmp(a.r.slot, b.r.slot) || a.r.epoch - b.r.epoch || a.r.seq - b.r.seq);
  // The copy a statement stored is the first of its key in VALUES order, which the stable sort keeps.
  const stored = new Set<string>();
  const duplicates: Keyed[] = [];
  // What the batch added per (gateway, slot), for slot_summary.
  const added = new Map<string, { gateway: string; slot: string; n: number; newest: number }>();
  for (let i = 0; i < rows.length; i += CHUNK_ROWS) {
    const chunk = rows.slice(i, i + CHUNK_ROWS);
    const args: unknown[] = [];
    const tuples = chunk.map(({ r, gw }, j) => {
      args.push(gw, r.slot, r.device, r.kind, r.epoch, r.seq, r.ts, r.value);
      return `(${Array.from({ length: COLUMNS }, (_, k) => `$${j * COLUMNS + k + 1}`).join(', ')})`;
    });
    const res = await c.query<{ gateway: string; slot: string; epoch: string; seq: string; ts: string }>(
      `INSERT INTO readings (gateway, slot, device, kind, epoch, seq, ts, value) VALUES ${tuples.join(', ')} ON CONFLICT DO NOTHING RETURNING gateway, slot, epoch, seq, ts`,
      args,
    );
    const fresh = new Set(res.rows.map((x) => keyOf(x.gateway, x.slot, x.epoch, x.seq)));
    for (const x of res.rows) {
      const slot = JSON.stringify([x.gateway, x.slot]);
      const a = added.get(slot);
      if (a === undefined) added.set(slot, { gateway: x.gateway, slot: x.slot, n: 1, newest: Number(x.ts) });
      else (a.n++, (a.newest = Math.max(a.newest, Number(x.ts))));
    }
    for (const k of chunk) {
      const key = keyOf(k.gw, k.r.slot, k.r.epoch, k.r.seq);
      if (fresh.delete(key)) stored.add(key);
      else duplicates.push(k);
    }
  }
  if (added.size > 0) await summaryAdd(c, [...added.values()]);
  const conflicts = duplicates.length > 0 ? await auditConflicts(c, duplicates, at) : [];
  return { inserted: stored.size, duplicates: duplicates.length, conflicts };
}

/**
 * Adds what a batch stored to slot_summary, in the same transaction. Last, after every reading, and
 * in (gateway, slot) byte order (the tables' collation, the order deletes lock them in): a
 * transaction takes summary rows only once it holds all its readings' keys, and all take them in
 * one order, so two transactions never wait on each other in a circle (one holding a summary row
 * the other needs while it waits for a key the other holds).
 */
async function summaryAdd(c: pg.PoolClient, added: readonly { gateway: string; slot: string; n: number; newest: number }[]): Promise<void> {
  await c.query(
    `INSERT INTO slot_summary (gateway, slot, readings, newest)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS a(gateway, slot, n, newest) ORDER BY gateway COLLATE "C", slot COLLATE "C"
     ON CONFLICT (gateway, slot) DO UPDATE SET readings = slot_summary.readings + excluded.readings, newest = greatest(slot_summary.newest, excluded.newest)`,
    [added.map((a) => a.gateway), added.map((a) => a.slot), added.map((a) => a.n), added.map((a) => a.newest)],
  );
}

/** Compares each duplicate with the stored copy (by the value's digest: a resent window's values are not sent back) and audits the new clashes. */
async function auditConflicts(c: pg.PoolClient, dups: readonly Keyed[], at: number): Promise<AuditEntry[]> {
  const res = await c.query<{ gateway: string; slot: string; epoch: string; seq: string; device: string; kind: string; ts: string; sha256: string }>(
    `SELECT gateway, slot, epoch, seq, device, kind, ts, encode(sha256(value), 'hex') AS sha256 FROM readings
      WHERE (gateway, slot, epoch, seq) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]))`,
    columns(dups),
  );
  const kept = new Map<string, ReadingCopy>(res.rows.map((x) => [keyOf(x.gateway, x.slot, x.epoch, x.seq), { device: x.device, kind: x.kind, ts: Number(x.ts), sha256: x.sha256 }]));
  const clashes = new Map<string, { k: Keyed; kept: ReadingCopy; sent: ReadingCopy }>();
  for (const k of dups) {
    const key = keyOf(k.gw, k.r.slot, k.r.epoch, k.r.seq);
    const mine = kept.get(key);
    const sent = copyOf(k.r);
    if (mine !== undefined && !sameCopy(mine, sent) && !clashes.has(key)) clashes.set(key, { k, kept: mine, sent });
  }
  if (clashes.size === 0) return [];
  const list = [...clashes.values()];
  // Once per identity: only the keys this statement marks first are audited.
  const marked = await c.query<{ gateway: string; slot: string; epoch: string; seq: string }>(
    `INSERT INTO reading_conflicts (gateway, slot, epoch, seq) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])
      ON CONFLICT DO NOTHING RETURNING gateway, slot, epoch, seq`,
    columns(list.map((x) => x.k)),
  );
  const first = new Set(marked.rows.map((x) => keyOf(x.gateway, x.slot, x.epoch, x.seq)));
  const entries = list.filter((x) => first.has(keyOf(x.k.gw, x.k.r.slot, x.k.r.epoch, x.k.r.seq))).map((x) => conflictEntry(at, x.k.r, x.kept, x.sent));
  if (entries.length > 0) {
    await c.query('INSERT INTO audit (at, gateway, event, detail) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[])', [
      entries.map((e) => e.at),
      entries.map((e) => toHex(e.gateway)),
      entries.map((e) => e.event),
      entries.map(auditDetailText),
    ]);
  }
  return entries;
}

/** The identity columns of `rows` as four arrays (one bind parameter each, whatever their number). */
function columns(rows: readonly Keyed[]): unknown[] {
  return [rows.map((k) => k.gw), rows.map((k) => k.r.slot), rows.map((k) => k.r.epoch), rows.map((k) => k.r.seq)];
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
