// What the collector remembers of consent withdrawn (OI §11.6): per Discovery Grant (by object_id),
// either the whole grant or some of its slots, and per gateway the time it withdrew the whole
// relationship. Kept in the store's audit trail ("revoke.applied" entries), so a restart keeps
// refusing a revoked grant (a replayed announcement under it is refused, OI §9.1/§11.6) and never
// stores a revoked slot again.

import { toHex } from '../uzp/bytes.js';
import { revokedScope } from '../uzp/artefacts/discovery-revocation.js';
import type { ReadingStore } from './store/store.js';

export const REVOKE_EVENT = 'revoke.applied';

/**
 * Distinct grants one gateway may have revoked here. A gateway keeps at most 1,024 revocations
 * (its revocations file, docs/PROFILE.md): past this a revocation of yet another grant is refused
 * (audited, `REVOCATION_LIMIT`) instead of growing the collector's memory and audit trail without end.
 */
export const MAX_REVOKED_GRANTS_PER_GATEWAY = 1024;

export class Consents {
  /**
   * Per gateway (hex): the tail of its queue of turns (turn()). Sessions of one gateway overlap (a
   * closed session's queued windows are still stored while the next session revokes).
   */
  private readonly turns = new Map<string, Promise<void>>();
  private readonly whole = new Set<string>();
  private readonly slots = new Map<string, Set<string>>();
  /** Grant ids (hex) each gateway (hex) revoked, for the bound. */
  private readonly byGateway = new Map<string, Set<string>>();
  /** Per gateway (hex): when it last withdrew the whole relationship, Unix ms of its own clock. */
  private readonly relationships = new Map<string, number>();

  /** Loads every revocation the store's audit trail records. */
  static async load(store: ReadingStore): Promise<Consents> {
    const c = new Consents();
    for await (const e of store.auditEvents(REVOKE_EVENT)) {
      const gateway = toHex(e.gateway);
      const { grant, slots, relationshipAtMs } = e.detail;
      if (typeof relationshipAtMs === 'number') c.noteRelationship(gateway, relationshipAtMs);
      if (typeof grant !== 'string') continue;
      // Read as the revocation's own scope: "*" is every slot, also in trails written before that rule.
      c.note(gateway, grant, revokedScope(Array.isArray(slots) ? slots.filter((s): s is string => typeof s === 'string') : undefined));
    }
    return c;
  }

  /**
   * Runs `f` when every earlier turn of `gateway` (hex) has ended, in the order asked. The intake
   * checks a window against this record and stores it in one turn, and records a revocation (in the
   * store, then here) in one turn: checked and stored are then one step against a revocation, so no
   * reading it withdrew can be stored once it is recorded (OI §11.6). Before, a window checked
   * before the revocation was noted could commit after its deletion had finished, and stayed stored
   * and served. In-process is enough: one collector owns its database (store.ts claim()).
   */
  async turn<T>(gateway: string, f: () => Promise<T>): Promise<T> {
    const before = this.turns.get(gateway) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = before.then(() => mine);
    this.turns.set(gateway, tail);
    await before;
    try {
      return await f();
    } finally {
      release();
      if (this.turns.get(gateway) === tail) this.turns.delete(gateway);
    }
  }

  /**
   * Whether `slot` of `grant` (issued by `gateway` at `issuedAtMs`) may be stored now: neither the
   * slot, nor the whole grant, nor the relationship up to its issue were revoked.
   */
  allows(gateway: Uint8Array, grantId: Uint8Array, issuedAtMs: number, slot: string): boolean {
    if (this.isRevoked(grantId) || this.revokedSlots(grantId).has(slot)) return false;
    const cut = this.relationshipRevokedAt(gateway);
    return cut === undefined || issuedAtMs > cut;
  }

  /** Whether `gateway` may revoke `grantId` (both hex) here: a grant it revoked before, or one more within the bound. */
  mayNote(gateway: string, grantId: string): boolean {
    const known = this.byGateway.get(gateway);
    return known === undefined || known.has(grantId) || known.size < MAX_REVOKED_GRANTS_PER_GATEWAY;
  }

  /**
   * Whether noting a revocation by `gateway` of `grantId` (both hex) — of `slots`, or the whole
   * grant; of the relationship at `relationshipAtMs` — would change this record. A revocation sent
   * again as it was adds nothing; the relationship's sent again under a grant issued since adds
   * that grant.
   */
  adds(gateway: string, grantId: string, slots: readonly string[] | undefined, relationshipAtMs?: number): boolean {
    if (relationshipAtMs !== undefined && relationshipAtMs > (this.relationships.get(gateway) ?? -1)) return true;
    if (this.whole.has(grantId)) return false;
    const held = this.slots.get(grantId);
    return slots === undefined || held === undefined || slots.some((s) => !held.has(s));
  }

  /** Records a revocation by `gateway` of `grantId` (hex): of its whole scope, or of `slots`. */
  note(gateway: string, grantId: string, slots?: readonly string[]): void {
    const known = this.byGateway.get(gateway) ?? new Set<string>();
    known.add(grantId);
    this.byGateway.set(gateway, known);
    if (slots === undefined) {
      this.whole.add(grantId);
      return;
    }
    const set = this.slots.get(grantId) ?? new Set<string>();
    for (const s of slots) set.add(s);
    this.slots.set(grantId, set);
  }

  /**
   * `gateway` withdrew every grant it gave us at `atMs` (a revocation without a grant id): every
   * grant it issued up to then is revoked, including ones this collector never saw; one issued
   * later is a new consent.
   */
  noteRelationship(gateway: string, atMs: number): void {
    this.relationships.set(gateway, Math.max(atMs, this.relationships.get(gateway) ?? 0));
  }

  /** When `gateway` last withdrew the whole relationship (Unix ms), if it did. */
  relationshipRevokedAt(gateway: Uint8Array): number | undefined {
    return this.relationships.get(toHex(gateway));
  }

  isRevoked(grantId: Uint8Array): boolean {
    return this.whole.has(toHex(grantId));
  }

  revokedSlots(grantId: Uint8Array): ReadonlySet<string> {
    return this.slots.get(toHex(grantId)) ?? new Set();
  }
}
