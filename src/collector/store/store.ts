// The collector's database (issue #12; ARCHITECTURE "Embedded storage"): readings stored exactly
// once by (gateway CID, slot, boot epoch, seq), whatever arrives twice (a resent window after a
// crash, a backfill that overlaps a push). One contract, two implementations: SQLite through
// node:sqlite in WAL mode (the default, `--db FILE`) and PostgreSQL through `pg` (`--db
// postgres://…`), both tested against the same cases. A batch is durable when insert() resolves:
// the collector signs a receipt only after that (OI §11.5), and the gateway deletes only what
// receipts cover, so a crash between the two loses nothing.

import { fromHex } from '../../uzp/bytes.js';

/** One reading as the collector stores it; `value` is the reading's canonical CBOR, as the gateway logged it. */
export interface StoredReading {
  /** The publishing gateway's CID (32 bytes), as authenticated by the session. */
  readonly gateway: Uint8Array;
  readonly slot: string;
  readonly device: string;
  readonly kind: string;
  readonly epoch: number;
  readonly seq: number;
  /** Unix ms, as the gateway stamped it. */
  readonly ts: number;
  readonly value: Uint8Array;
  /** The stored value's length when it was longer than the query's valueMaxBytes (`value` is then empty). */
  readonly omittedBytes?: number;
}

/** A row of query() as either database returns it (numbers may come as text, the value as a Buffer). */
export interface QueryRow {
  readonly gateway: string;
  readonly slot: string;
  readonly device: string;
  readonly kind: string;
  readonly epoch: number | string;
  readonly seq: number | string;
  readonly ts: number | string;
  readonly value: Uint8Array;
  /** The stored value's length (the value itself is empty when over valueMaxBytes). */
  readonly value_bytes: number | string;
}

/** A query row as a StoredReading: the value copied (a driver's buffer may be a view into a shared slab). */
export function storedReading(r: QueryRow, valueMaxBytes: number | undefined): StoredReading {
  const bytes = Number(r.value_bytes);
  return {
    gateway: fromHex(r.gateway),
    slot: r.slot,
    device: r.device,
    kind: r.kind,
    epoch: Number(r.epoch),
    seq: Number(r.seq),
    ts: Number(r.ts),
    value: new Uint8Array(r.value),
    ...(valueMaxBytes !== undefined && bytes > valueMaxBytes ? { omittedBytes: bytes } : {}),
  };
}

export interface InsertResult {
  /** Rows written by this call. */
  readonly inserted: number;
  /** Readings of the batch already stored (same gateway, slot, epoch, seq): ignored. */
  readonly duplicates: number;
  /**
   * The audit entries this call wrote for duplicates whose content differs from the stored copy
   * (conflicts.ts): one per such reading identity while its reading is stored, in the batch's
   * transaction, naming the fields that differ and nothing of either copy.
   */
  readonly conflicts: readonly AuditEntry[];
}

/** A stored position: the highest (epoch, seq) of one slot. */
export interface SlotPosition {
  readonly epoch: number;
  readonly seq: number;
}

export interface ReadingQuery {
  readonly gateway?: Uint8Array;
  readonly slot?: string;
  /** Unix ms, inclusive. */
  readonly sinceMs?: number;
  /** Unix ms, exclusive. */
  readonly untilMs?: number;
  /** Default 10,000; at most 1,000,000. Results ordered by (gateway, slot, epoch, seq). */
  readonly limit?: number;
  /** The newest `limit` readings instead of the oldest (still returned in ascending order): a chart's last hour. */
  readonly newest?: boolean;
  /**
   * A value longer than this many bytes is not read: it comes back empty with `omittedBytes` set
   * (a view that shows a value's start must not load 20,000 values of up to 512 KiB).
   */
  readonly valueMaxBytes?: number;
}

/** A query without a limit, oldest first, values whole: what stream() takes. */
export type StreamQuery = Omit<ReadingQuery, 'limit' | 'newest' | 'valueMaxBytes'>;

/** What is stored of one slot of one gateway. */
export interface SlotSummary {
  readonly gateway: Uint8Array;
  readonly slot: string;
  readonly readings: number;
  /** Unix ms of the newest reading (by the gateway's timestamp). */
  readonly newestTs: number;
}

/** What a revocation withdrew (OI §11.6), as the store records it until its readings are deleted. */
export interface RevocationScope {
  /** The discovery revocation's object_id (32 bytes): a revocation is recorded once. */
  readonly revocation: Uint8Array;
  readonly gateway: Uint8Array;
  /** The slots whose readings it deletes (a whole grant: the slots it covered; empty: none); absent: every slot of the gateway (the relationship, or a grant of "*"). */
  readonly slots?: readonly string[];
}

export interface PurgeResult {
  /** Readings deleted under the revocation in all, across every purge() of it. */
  readonly deleted: number;
  /** This call deleted the last of them and wrote the entry saying so (false: an earlier call had). */
  readonly finished: boolean;
  /**
   * SQLite: the deleted readings' bytes are gone from the database file and its WAL (zeroed,
   * then the WAL checkpointed and truncated; docs/COLLECTOR.md "Erasure"); false when a reader of
   * the WAL kept it from being truncated: tried again at the next retention sweep, purge or open.
   * Absent where the store does not erase (PostgreSQL keeps deleted rows' bytes until their space
   * is reused: what an operator does about it is in that doc).
   */
  readonly erased?: boolean;
}

/** One line of the collector's audit trail (grants accepted and refused, revocations, receipts). */
export interface AuditEntry {
  /** Unix ms. */
  readonly at: number;
  readonly gateway: Uint8Array;
  /** Stable event name, e.g. "grant.accepted", "grant.refused", "revoke.applied". */
  readonly event: string;
  /** JSON-serialisable detail (codes, object ids in hex, counts). */
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface ReadingStore {
  readonly kind: 'sqlite' | 'postgres';
  /**
   * Stores a batch in one transaction, each reading once; durable (committed) when the promise
   * resolves. A duplicate is not stored again; one whose device, kind, ts or value differ from the
   * stored copy is recorded (a reading_conflicts row) and audited (READING_CONFLICT_EVENT, stamped
   * `at`), once per reading identity; the row is deleted with its reading.
   */
  insert(readings: readonly StoredReading[], at?: number): Promise<InsertResult>;
  /** The highest (epoch, seq) stored per slot of one gateway. */
  positions(gateway: Uint8Array): Promise<Map<string, SlotPosition>>;
  /** Readings stored per slot of one gateway. */
  counts(gateway: Uint8Array): Promise<Map<string, number>>;
  query(q: ReadingQuery): Promise<StoredReading[]>;
  /**
   * The readings `q` selects, in (gateway, slot, epoch, seq) order, as they are read: no limit (the
   * consumer stops when it has enough; breaking out of the loop ends the read), values whole.
   * `collector query` prints up to a million readings of up to 512 KiB each this way. Read in keyset
   * pages, each a statement of its own (STREAM_PAGE_ROWS; on SQLite also STREAM_PAGE_BYTES): a page
   * is what is held (query() holds them all), and no read stays open while the consumer works.
   */
  stream(q: StreamQuery): AsyncIterable<StoredReading>;
  /**
   * Records a revocation with its audit entry, in one transaction, before any of its readings is
   * deleted (OI §11.6): from the commit on no reading of its scope is served (query, stream, counts,
   * slotSummaries), and purge() deletes them. Deleting in chunks (DELETE_CHUNK_ROWS) is not
   * all-or-nothing: recorded first, a failure midway leaves the rest hidden and known, never
   * visible or forgotten. False, and nothing written, when this revocation is recorded already.
   */
  revoke(scope: RevocationScope, entry: AuditEntry): Promise<boolean>;
  /**
   * Deletes the readings of a recorded revocation, DELETE_CHUNK_ROWS per transaction, each chunk
   * counted in the record in its own transaction and the last marking it done and writing the audit
   * entry `finished(deleted in all)` — in one transaction, so no crash leaves the deletion done and
   * that entry unwritten (nothing would write it later: only revocations not done are resumed).
   * After a failure the next call goes on from there. STORE_INVALID for a revocation never recorded.
   */
  purge(revocation: Uint8Array, finished: (deleted: number) => AuditEntry): Promise<PurgeResult>;
  /** Recorded revocations whose readings are not all deleted yet (a failure or stop midway), of one gateway or all. */
  unpurged(gateway?: Uint8Array): Promise<RevocationScope[]>;
  /** Deletes a gateway's readings stamped before `beforeMs` (Unix ms): the grant's retention ran out (OI §10.1). Returns rows deleted. */
  deleteBefore(gateway: Uint8Array, beforeMs: number): Promise<number>;
  audit(e: AuditEntry): Promise<void>;
  /** Audit entries of one gateway (or all), oldest first. */
  auditLog(gateway?: Uint8Array): Promise<AuditEntry[]>;
  /**
   * The audit entries of one event, oldest first, read one at a time (an index on (event, id)):
   * what startup needs (revocations, accepted grants) without loading the whole trail, which grows
   * with every session.
   */
  auditEvents(event: string): AsyncIterable<AuditEntry>;
  /** Every gateway the audit trail names (the console's fleet includes refused ones). */
  auditGateways(): Promise<Uint8Array[]>;
  /** The newest `limit` audit entries of all gateways, newest first (the console's audit view). */
  recentAudit(limit: number): Promise<AuditEntry[]>;
  /** Readings stored and the newest timestamp, per (gateway, slot) (the console's fleet view). */
  slotSummaries(): Promise<SlotSummary[]>;
  /**
   * Binds the database to one collector identity: the first call stores `owner` (its CID) in the
   * meta table; a later one with another CID throws STORE_OWNED naming both. Readings and audit
   * rows carry no collector, so two collectors on one database applied each other's revocations,
   * retention and refusals to data they had receipted.
   */
  claim(owner: Uint8Array): Promise<void>;
  close(): Promise<void>;
}
