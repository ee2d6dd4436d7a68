// Two different readings under one identity (store.ts). A reading is named by (gateway, slot, boot
// epoch, seq) and stored once: a copy sent again (a window resent after a lost receipt, a range
// that overlaps a push) is a duplicate and the first copy stays, so a resend never rewrites what
// was receipted. A duplicate whose content differs is something else: a gateway bug, a boot epoch
// lost (the gateway counted seq again under an epoch it had used), or tampering. Both stores keep
// the first copy still, and record the clash in the audit trail with both copies' digests, once
// per identity (a conflicting window resent a hundred times is one entry), in the insert's own
// transaction, so a crash cannot store the batch and lose the record.

import { createHash } from 'node:crypto';
import type { AuditEntry, StoredReading } from './store.js';

export const READING_CONFLICT_EVENT = 'readings.conflict';

/** What the audit entry says of one copy: its fields other than the identity, the value by digest. */
export interface ReadingCopy {
  readonly device: string;
  readonly kind: string;
  readonly ts: number;
  /** SHA-256 of the value (the reading's canonical CBOR), hex. */
  readonly sha256: string;
}

export function sha256Hex(value: Uint8Array): string {
  return createHash('sha256').update(value).digest('hex');
}

export function copyOf(r: Pick<StoredReading, 'device' | 'kind' | 'ts' | 'value'>): ReadingCopy {
  return { device: r.device, kind: r.kind, ts: r.ts, sha256: sha256Hex(r.value) };
}

/** The audit entry of a reading whose identity `kept` holds already (the stored copy, kept) and `sent` claimed too. */
export function conflictEntry(at: number, r: StoredReading, kept: ReadingCopy, sent: ReadingCopy): AuditEntry {
  return {
    at,
    gateway: r.gateway,
    event: READING_CONFLICT_EVENT,
    detail: { slot: r.slot, epoch: r.epoch, seq: r.seq, kept, sent },
  };
}
