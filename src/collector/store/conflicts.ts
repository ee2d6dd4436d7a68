// Two different readings under one identity (store.ts). A reading is named by (gateway, slot, boot
// epoch, seq) and stored once: a copy sent again (a window resent after a lost receipt, a range
// that overlaps a push) is a duplicate and the first copy stays, so a resend never rewrites what
// was receipted. A duplicate whose content differs is something else: a gateway bug, a boot epoch
// lost (the gateway counted seq again under an epoch it had used), or tampering. Both stores keep
// the first copy still, and record the clash once per identity (a conflicting window resent a
// hundred times is one record), in the insert's own transaction, so a crash cannot store the batch
// and lose the record:
// - a row of reading_conflicts: the identity and the copy sent again (device, kind, ts and the
//   SHA-256 of its value). It is deleted with the reading it clashed with, in the same transaction
//   (a revocation, the resumed deletion of one, retention): a register's value is one of 65,536,
//   and its plain digest gives it back to whoever tries them all, so a digest kept after its
//   reading was deleted kept the reading;
// - an audit entry READING_CONFLICT_EVENT naming the identity and which fields differ, nothing of
//   either copy: the audit trail outlives every reading.

import { createHash } from 'node:crypto';
import type { AuditEntry, StoredReading } from './store.js';

export const READING_CONFLICT_EVENT = 'readings.conflict';

/** The fields of a reading a copy sent again may differ in, in the order an entry lists them. */
export type ConflictField = 'device' | 'kind' | 'ts' | 'value';

/** The copy sent again, as its conflict row keeps it (the value by digest). */
export interface SentCopy {
  readonly device: string;
  readonly kind: string;
  readonly ts: number;
  /** SHA-256 of the value (the reading's canonical CBOR), hex. */
  readonly sha256: string;
}

export function sentCopy(r: Pick<StoredReading, 'device' | 'kind' | 'ts' | 'value'>): SentCopy {
  return { device: r.device, kind: r.kind, ts: r.ts, sha256: createHash('sha256').update(r.value).digest('hex') };
}

/** What `sent` changes of the stored copy `kept` (`sameValue`: their values are equal); empty: a plain duplicate. */
export function differences(kept: { readonly device: string; readonly kind: string; readonly ts: number; readonly sameValue: boolean }, sent: Pick<StoredReading, 'device' | 'kind' | 'ts'>): ConflictField[] {
  const out: ConflictField[] = [];
  if (kept.device !== sent.device) out.push('device');
  if (kept.kind !== sent.kind) out.push('kind');
  if (kept.ts !== sent.ts) out.push('ts');
  if (!kept.sameValue) out.push('value');
  return out;
}

/** The audit entry of a reading whose identity was stored already and that `r` claimed with other content. */
export function conflictEntry(at: number, r: StoredReading, differs: readonly ConflictField[]): AuditEntry {
  return { at, gateway: r.gateway, event: READING_CONFLICT_EVENT, detail: { slot: r.slot, epoch: r.epoch, seq: r.seq, differs: [...differs] } };
}
