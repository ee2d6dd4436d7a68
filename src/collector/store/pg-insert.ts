// One insert() batch on PostgreSQL (postgres.ts), inside the transaction the store opened: the
// readings in multi-row INSERT … ON CONFLICT DO NOTHING statements of CHUNK_ROWS, what they added
// to slot_summary, then the duplicates compared with what is stored (conflicts.ts) and the
// clashing ones audited once.

import type pg from 'pg';
import { toHex } from '../../uzp/bytes.js';
import { auditDetailText } from './checks.js';
import { type ConflictField, conflictEntry, differences, type SentCopy, sentCopy } from './conflicts.js';
import { lockGateways } from './pg-locks.js';
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
  // Before any statement on them: no delete of these gateways' readings runs inside this batch (pg-locks.ts).
  await lockGateways(c, rows.map((k) => k.gw));
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

/**
 * Compares the duplicates with their stored copies and records the new clashes (conflicts.ts). On
 * the server, and without reading a stored value whole for each: an identity whose conflict is
 * recorded already is skipped; otherwise lengths first (octet_length() reads a TOASTed value's size
 * from its pointer), and only for equal lengths the stored value's digest with the sent one's. It
 * hashed every duplicate's stored value in full, every batch: a window of tiny readings reusing the
 * identities of large stored ones made the server read and hash all of them, window after window.
 * Each identity is looked up once per distinct sent content. No delete of the gateway's readings
 * runs inside the batch (its lock, pg-locks.ts): a stored copy found here is there at commit, and a
 * later delete takes the conflict row with it (ON DELETE CASCADE).
 */
async function auditConflicts(c: pg.PoolClient, dups: readonly Keyed[], at: number): Promise<AuditEntry[]> {
  const candidates: { k: Keyed; key: string; sent: SentCopy; digest: Buffer }[] = [];
  const seen = new Set<string>();
  for (const k of dups) {
    const key = keyOf(k.gw, k.r.slot, k.r.epoch, k.r.seq);
    const sent = sentCopy(k.r);
    const copy = JSON.stringify([key, sent.device, sent.kind, sent.ts, sent.sha256]);
    if (seen.has(copy)) continue;
    seen.add(copy);
    candidates.push({ k, key, sent, digest: Buffer.from(sent.sha256, 'hex') });
  }
  const res = await c.query<{ n: string; device: string; kind: string; ts: string; same_value: boolean }>(
    `SELECT i.n, r.device, r.kind, r.ts, CASE WHEN octet_length(r.value) = i.len THEN sha256(r.value) = i.digest ELSE false END AS same_value
       FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::int[], $6::bytea[]) WITH ORDINALITY AS i(gateway, slot, epoch, seq, len, digest, n)
       JOIN readings r ON r.gateway = i.gateway AND r.slot = i.slot AND r.epoch = i.epoch AND r.seq = i.seq
      WHERE NOT EXISTS (SELECT 1 FROM reading_conflicts x WHERE x.gateway = i.gateway AND x.slot = i.slot AND x.epoch = i.epoch AND x.seq = i.seq)`,
    [...columns(candidates.map((x) => x.k)), candidates.map((x) => x.k.r.value.length), candidates.map((x) => x.digest)],
  );
  // The first clash of each identity, in the batch's order.
  const clashes = new Map<string, { k: Keyed; differs: ConflictField[]; sent: SentCopy }>();
  for (const x of [...res.rows].sort((a, b) => Number(a.n) - Number(b.n))) {
    const cand = candidates[Number(x.n) - 1]!;
    const differs = differences({ device: x.device, kind: x.kind, ts: Number(x.ts), sameValue: x.same_value }, cand.k.r);
    if (differs.length > 0 && !clashes.has(cand.key)) clashes.set(cand.key, { k: cand.k, differs, sent: cand.sent });
  }
  if (clashes.size === 0) return [];
  const list = [...clashes.values()];
  // Once per identity: only the keys this statement records first are audited.
  const marked = await c.query<{ gateway: string; slot: string; epoch: string; seq: string }>(
    `INSERT INTO reading_conflicts (gateway, slot, epoch, seq, at, sent_device, sent_kind, sent_ts, sent_sha256)
       SELECT gateway, slot, epoch, seq, $5::bigint, device, kind, ts, sha256 FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $6::text[], $7::text[], $8::bigint[], $9::text[]) AS i(gateway, slot, epoch, seq, device, kind, ts, sha256)
     ON CONFLICT DO NOTHING RETURNING gateway, slot, epoch, seq`,
    [...columns(list.map((x) => x.k)), at, list.map((x) => x.sent.device), list.map((x) => x.sent.kind), list.map((x) => x.sent.ts), list.map((x) => x.sent.sha256)],
  );
  const first = new Set(marked.rows.map((x) => keyOf(x.gateway, x.slot, x.epoch, x.seq)));
  const entries = list.filter((x) => first.has(keyOf(x.k.gw, x.k.r.slot, x.k.r.epoch, x.k.r.seq))).map((x) => conflictEntry(at, x.k.r, x.differs));
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
