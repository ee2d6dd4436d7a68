// What the collector remembers of consent withdrawn (OI §11.6): per Discovery Grant (by object_id),
// either the whole grant or some of its slots. Kept in the store's audit trail ("revoke.applied"
// entries), so a restart keeps refusing a revoked grant (a replayed announcement under it is
// refused, OI §9.1/§11.6) and never stores a revoked slot again.

import { toHex } from '../uzp/bytes.js';
import type { ReadingStore } from './store/store.js';

export const REVOKE_EVENT = 'revoke.applied';

export class Consents {
  private readonly whole = new Set<string>();
  private readonly slots = new Map<string, Set<string>>();

  /** Loads every revocation the store's audit trail records. */
  static async load(store: ReadingStore): Promise<Consents> {
    const c = new Consents();
    for (const e of await store.auditLog()) {
      if (e.event !== REVOKE_EVENT) continue;
      const grant = e.detail.grant;
      const slots = e.detail.slots;
      if (typeof grant !== 'string') continue;
      c.note(grant, Array.isArray(slots) ? slots.filter((s): s is string => typeof s === 'string') : undefined);
    }
    return c;
  }

  /** Records a revocation of `grantId` (hex): of its whole scope, or of `slots`. */
  note(grantId: string, slots?: readonly string[]): void {
    if (slots === undefined) {
      this.whole.add(grantId);
      return;
    }
    const set = this.slots.get(grantId) ?? new Set<string>();
    for (const s of slots) set.add(s);
    this.slots.set(grantId, set);
  }

  isRevoked(grantId: Uint8Array): boolean {
    return this.whole.has(toHex(grantId));
  }

  revokedSlots(grantId: Uint8Array): ReadonlySet<string> {
    return this.slots.get(toHex(grantId)) ?? new Set();
  }
}
