// A ReadingStore that tells what it committed: the collector's console (console-source.ts) shows
// each reading and audit line as soon as it is durable, without the intake knowing about it. Only
// after the underlying call resolved, so nothing is shown that a failed transaction did not keep.

import type { AuditEntry, InsertResult, PurgeResult, ReadingQuery, ReadingStore, RevocationScope, SlotPosition, SlotSummary, StoredReading, StreamQuery } from './store.js';

export interface StoreObserver {
  inserted(readings: readonly StoredReading[], result: InsertResult): void;
  audited(entry: AuditEntry): void;
}

export class ObservedStore implements ReadingStore {
  private readonly observers = new Set<StoreObserver>();

  constructor(private readonly inner: ReadingStore) {}

  get kind(): 'sqlite' | 'postgres' {
    return this.inner.kind;
  }

  observe(o: StoreObserver): () => void {
    this.observers.add(o);
    return () => this.observers.delete(o);
  }

  async insert(readings: readonly StoredReading[], at?: number): Promise<InsertResult> {
    const r = await this.inner.insert(readings, at);
    // Nothing new (a window sent again after a lost receipt): nothing to show twice.
    if (r.inserted > 0) this.tell((o) => o.inserted(readings, r));
    // The audit entries the insert wrote (conflicting duplicates) are shown as any other.
    for (const e of r.conflicts) this.tell((o) => o.audited(e));
    return r;
  }

  async audit(e: AuditEntry): Promise<void> {
    await this.inner.audit(e);
    this.tell((o) => o.audited(e));
  }

  async revoke(scope: RevocationScope, entry: AuditEntry): Promise<boolean> {
    const recorded = await this.inner.revoke(scope, entry);
    if (recorded) this.tell((o) => o.audited(entry));
    return recorded;
  }

  async purge(revocation: Uint8Array, finished: (deleted: number) => AuditEntry): Promise<PurgeResult> {
    // The entry the last chunk wrote (a retried transaction asks again: the last one asked is it).
    let entry: AuditEntry | undefined;
    const r = await this.inner.purge(revocation, (n) => (entry = finished(n)));
    if (r.finished && entry !== undefined) this.tell((o) => o.audited(entry!));
    return r;
  }

  /** An observer's failure is its own: the write it watches has succeeded and stays so. */
  private tell(f: (o: StoreObserver) => void): void {
    for (const o of this.observers) {
      try {
        f(o);
      } catch {
        // the console drops one update; it re-reads on its next view
      }
    }
  }

  positions(gateway: Uint8Array): Promise<Map<string, SlotPosition>> {
    return this.inner.positions(gateway);
  }
  counts(gateway: Uint8Array): Promise<Map<string, number>> {
    return this.inner.counts(gateway);
  }
  query(q: ReadingQuery): Promise<StoredReading[]> {
    return this.inner.query(q);
  }
  stream(q: StreamQuery): AsyncIterable<StoredReading> {
    return this.inner.stream(q);
  }
  unpurged(gateway?: Uint8Array): Promise<RevocationScope[]> {
    return this.inner.unpurged(gateway);
  }
  deleteBefore(gateway: Uint8Array, beforeMs: number): Promise<number> {
    return this.inner.deleteBefore(gateway, beforeMs);
  }
  auditLog(gateway?: Uint8Array): Promise<AuditEntry[]> {
    return this.inner.auditLog(gateway);
  }
  auditEvents(event: string): AsyncIterable<AuditEntry> {
    return this.inner.auditEvents(event);
  }
  auditGateways(): Promise<Uint8Array[]> {
    return this.inner.auditGateways();
  }
  recentAudit(limit: number): Promise<AuditEntry[]> {
    return this.inner.recentAudit(limit);
  }
  slotSummaries(): Promise<SlotSummary[]> {
    return this.inner.slotSummaries();
  }
  claim(owner: Uint8Array): Promise<void> {
    return this.inner.claim(owner);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
