// One publishing gateway's session, collector side (OI §11): the gateway opened it (the collector
// never connects to a gateway); its first channel carries the publish protocol
// (hil/publish-messages.ts). The announcement's Discovery Grant must be issued by the gateway the
// session authenticated and addressed to us (OI §9.1), valid now, not revoked, within what the
// trust domain's Grant lets that gateway publish, and must allow the purposes we process for
// (OI §11.2: "reject any announcement that lacks sufficient authorisation for the requested
// purposes"). Then each window is stored once per reading and answered with a signed receipt after
// it is durable (§11.5); a gap in a slot's seqs is asked for within the session (§11.3); a
// revocation is applied and confirmed with a signed receipt (§11.6). Every decision is audited.

import type { Logger } from 'pino';
import { decodePublish, encodePublish, type PublishMessage, type WireReading } from '../hil/publish-messages.js';
import { rangesOf } from '../hil/publish-ranges.js';
import { isCodedError } from '../lib/errors.js';
import type { DiscoveryGrant } from '../uzp/artefacts/discovery-grant.js';
import type { Grant, Valid } from '../uzp/artefacts/types.js';
import { validateDiscoveryGrant, validateDiscoveryRevocation } from '../uzp/artefacts/validate-discovery.js';
import { revokedScope } from '../uzp/artefacts/discovery-revocation.js';
import { toHex } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { ErrorCode } from '../uzp/errors.js';
import type { Channel } from '../uzp/session/channel.js';
import type { Session } from '../uzp/session/session.js';
import { PUBLISH_PURPOSE } from '../hil/purposes.js';
import { MAX_REVOKED_GRANTS_PER_GATEWAY, REVOKE_EVENT, type Consents } from './consents.js';
import type { Purges } from './purges.js';
import type { ReceiptSigner } from './receipts.js';
import { READING_CONFLICT_EVENT } from './store/conflicts.js';
import type { ReadingStore, SlotPosition } from './store/store.js';
import { GRANT_ACCEPTED_EVENT, type Retention } from './retention.js';

export interface IntakeOptions {
  readonly provider: CryptoProvider;
  readonly self: Uint8Array;
  readonly store: ReadingStore;
  readonly receipts: ReceiptSigner;
  readonly consents: Consents;
  /** Deletes what revocations withdrew, and finishes deletions a failure stopped midway. */
  readonly purges: Purges;
  /** Told the retention of each grant accepted (retention.ts); absent: nothing is deleted by age. */
  readonly retention?: Retention;
  readonly purposes: readonly string[];
  readonly skewS: number;
  readonly logger: Logger;
  readonly now?: () => number;
  /** Counts for the collector's status line. */
  readonly stats: IntakeStats;
}

export interface IntakeStats {
  sessions: number;
  windows: number;
  stored: number;
  duplicates: number;
  /** Reading identities claimed by a second, different reading (store/conflicts.ts): audited, the first kept. */
  conflicts: number;
  refused: number;
}

/**
 * Messages (and their bytes: one message always) a gateway may have waiting behind the one being
 * stored. A publisher keeps at most 16 windows in flight (MAX_IN_FLIGHT) and answers our requests;
 * the session paces the gateway by delivery, not by our store, so past these a gateway (a hostile
 * one, or ours against a stalled store) would grow our memory: the session is closed instead, and
 * the gateway sends its unreceipted windows again on its next session.
 */
export const INTAKE_MAX_WAITING = 64;
export const INTAKE_MAX_WAITING_BYTES = 16 * 1024 * 1024;

/** Serves the publish channel of one authenticated gateway session under its trust-domain Grant. */
export function serveIntake(session: Session, sessionGrant: Valid<Grant>, o: IntakeOptions): void {
  let claimed = false;
  session.on('channel', (ch: Channel) => {
    // One publish channel per session: a second is closed unread.
    if (claimed) return void ch.close().catch(() => undefined);
    claimed = true;
    o.stats.sessions++;
    new Intake(session, sessionGrant, ch, o).run();
  });
}

class Intake {
  private readonly gateway: Uint8Array;
  private readonly gw: string;
  private grant: Valid<DiscoveryGrant> | undefined;
  /** Work in arrival order: a window is stored and receipted before the next is looked at. */
  private chain: Promise<void> = Promise.resolve();
  private positions = new Map<string, SlotPosition>();
  private nextRequest = 1;
  /** Messages in `chain` not yet handled, and their bytes. */
  private waiting = 0;
  private waitingBytes = 0;
  private overran = false;
  private readonly now: () => number;

  constructor(
    private readonly session: Session,
    private readonly sessionGrant: Valid<Grant>,
    private readonly ch: Channel,
    private readonly o: IntakeOptions,
  ) {
    this.gateway = session.peerCid;
    this.gw = toHex(this.gateway);
    this.now = o.now ?? Date.now;
  }

  run(): void {
    this.ch.on('message', (bytes: Uint8Array) => {
      let m: PublishMessage;
      try {
        m = decodePublish(bytes);
      } catch (e) {
        this.o.logger.debug({ event: 'intake.bad_message', gateway: this.gw, reason: (e as Error).message }, 'malformed publish message dropped');
        return;
      }
      if (this.overran) return; // the session is closing: nothing more is taken
      if (this.waiting >= INTAKE_MAX_WAITING || (this.waiting > 0 && this.waitingBytes + bytes.length > INTAKE_MAX_WAITING_BYTES)) return this.overrun();
      const n = bytes.length;
      this.waiting++;
      this.waitingBytes += n;
      this.chain = this.chain
        .then(() => this.handle(m))
        .catch((e: unknown) => this.failed(e))
        .finally(() => {
          this.waiting--;
          this.waitingBytes -= n;
        });
    });
  }

  private overrun(): void {
    this.overran = true;
    this.o.logger.error(
      { event: 'intake.overrun', gateway: this.gw, waiting: this.waiting, bytes: this.waitingBytes },
      `the gateway sent more than ${INTAKE_MAX_WAITING} messages (${INTAKE_MAX_WAITING_BYTES} bytes) ahead of what was stored; closing the session (the gateway sends unreceipted windows again)`,
    );
    this.session.close();
  }

  private send(m: PublishMessage): Promise<void> {
    return this.ch.send(encodePublish(m)).catch(() => undefined);
  }

  private failed(e: unknown): void {
    // A store that failed mid-window: no receipt was sent, so the gateway keeps the window and sends it again.
    this.o.logger.error({ event: 'intake.failed', gateway: this.gw, code: isCodedError(e) ? e.code : undefined, reason: (e as Error)?.message ?? String(e) }, 'could not store a window; closing the session so the gateway resends it');
    this.session.close();
  }

  private async handle(m: PublishMessage): Promise<void> {
    if (m.t === 'announce') return this.announce(m);
    if (this.grant === undefined) return; // nothing is accepted before an accepted announcement
    switch (m.t) {
      case 'readings':
        return this.window(m.w, m.rows, true);
      case 'range':
        return this.window(0, m.rows, false);
      case 'revoke':
        return this.revoke(m.rev);
      case 'fresh':
        await this.o.store.audit({ at: this.now(), gateway: this.gateway, event: 'fresh', detail: { what: m.what, digest: toHex(m.digest), at_ms: m.at_ms } });
        return;
      default:
        this.o.logger.debug({ event: 'intake.bad_message', gateway: this.gw, type: m.t }, 'not a publisher message');
    }
  }

  private async refuse(code: string, reason: string, detail: Record<string, unknown> = {}): Promise<void> {
    this.o.stats.refused++;
    await this.o.store.audit({ at: this.now(), gateway: this.gateway, event: 'grant.refused', detail: { code, reason, ...detail } });
    this.o.logger.warn({ event: 'grant.refused', gateway: this.gw, code, reason }, 'Discovery Grant refused');
    await this.send({ t: 'refused', code });
    this.grant = undefined;
  }

  private async announce(m: Extract<PublishMessage, { t: 'announce' }>): Promise<void> {
    const o = this.o;
    // A deletion of this gateway's readings a failure stopped midway is finished first (purges.ts):
    // a grant accepted now must not store readings where it is still to run, and a REVOKED refusal
    // below must confirm a deletion that is done.
    await o.purges.resume(this.gateway);
    let dg: Valid<DiscoveryGrant>;
    try {
      dg = validateDiscoveryGrant(o.provider, m.grant, {
        publisher: { cid: this.gateway, publicKey: this.session.keys.peerPCert.body.publicKey },
        indexer: o.self,
        nowS: Math.floor(this.now() / 1000),
        skewS: o.skewS,
        isRevoked: (id) => o.consents.isRevoked(id),
      });
    } catch (e) {
      return this.refuse(isCodedError(e) ? e.code : 'DISCOVERY_INVALID', (e as Error).message);
    }
    const grantId = toHex(dg.objectId);
    // The gateway withdrew every grant it had given us: one issued up to then stays revoked, even if
    // it never reached us before (its clock issued both; a grant of the same second is refused too).
    const cut = o.consents.relationshipRevokedAt(this.gateway);
    if (cut !== undefined && dg.issuedAt * 1000 <= cut) {
      return this.refuse(ErrorCode.REVOKED, `this gateway withdrew every grant it gave this collector at ${new Date(cut).toISOString()}, and this one was issued before: issue a new Discovery Grant`, { grant: grantId });
    }
    // The trust domain's Grant bounds what this gateway may publish to us at all.
    const allowed = this.sessionGrant.body.scopes.filter((s) => s.purposes.some((p) => p.purpose === PUBLISH_PURPOSE)).map((s) => s.slot);
    const outside = dg.body.scope.map((s) => s.slot).filter((s) => !allowed.includes('*') && !allowed.includes(s));
    if (outside.length > 0) return this.refuse(ErrorCode.GRANT_SCOPE, `the trust domain's Grant does not let this gateway publish ${outside.join(', ')}`, { grant: grantId });
    const missing = o.purposes.filter((p) => !dg.body.purposes.includes(p) || dg.body.policy.deny.includes(p));
    if (missing.length > 0) return this.refuse(ErrorCode.DISCOVERY_POLICY, `the grant does not allow what this collector processes for: ${missing.join(', ')}`, { grant: grantId });
    const revoked = o.consents.revokedSlots(dg.objectId);
    const slots = dg.body.scope.map((s) => s.slot);
    if (!slots.includes('*') && slots.every((s) => revoked.has(s))) return this.refuse(ErrorCode.REVOKED, 'every slot of this grant was revoked', { grant: grantId });
    this.grant = dg;
    this.positions = await o.store.positions(this.gateway);
    await o.store.audit({
      at: this.now(),
      gateway: this.gateway,
      event: GRANT_ACCEPTED_EVENT,
      detail: {
        grant: grantId,
        action: m.action,
        board: m.board,
        ...(m.name !== undefined ? { name: m.name } : {}),
        scope: dg.body.scope,
        purposes: dg.body.purposes,
        constraints: dg.body.constraints,
        policy: dg.body.policy,
        catalogue: m.catalogue,
        dropped: m.dropped,
        digests: { catalogue: toHex(m.digests.catalogue), ...(m.digests.config ? { config: toHex(m.digests.config) } : {}), ...(m.digests.firmware ? { firmware: toHex(m.digests.firmware) } : {}) },
        expires_at: new Date(dg.expiresAt * 1000).toISOString(),
      },
    });
    o.retention?.note(this.gateway, dg.body.constraints.retentionDays);
    o.logger.info({ event: GRANT_ACCEPTED_EVENT, gateway: this.gw, grant: grantId, action: m.action }, 'publisher announced; Discovery Grant accepted');
    // The slots of this grant we hold revoked: a gateway that lost its own record of the revocation
    // (its revocations file restored or gone) would send them, we would refuse them, and no window
    // holding one could ever be receipted (its publishing stalled for every slot).
    const held = slots.filter((s) => revoked.has(s));
    await this.send({ t: 'accepted', grant: dg.objectId, ...(held.length > 0 ? { revoked: held } : {}) });
  }

  /** In the grant's scope and not revoked: the slot, the whole grant (also by another session of this gateway) or the relationship. */
  private inScope(grant: Valid<DiscoveryGrant>, slot: string): boolean {
    if (!this.o.consents.allows(this.gateway, grant.objectId, grant.issuedAt * 1000, slot)) return false;
    return grant.body.scope.some((s) => s.slot === '*' || s.slot === slot);
  }

  /**
   * The consent has a lifetime: a Discovery Grant that expires during a session stores nothing more
   * (OI §9: consent is bounded in time). The session is refused (ARTEFACT_EXPIRED), audited and
   * closed; the gateway's next announcement of the same grant is refused by validation, so only a
   * new grant resumes publishing. The same clock skew as at validation is allowed.
   */
  private async expired(): Promise<boolean> {
    const g = this.grant!;
    if (this.now() <= (g.expiresAt + this.o.skewS) * 1000) return false;
    await this.o.store.audit({ at: this.now(), gateway: this.gateway, event: 'grant.expired', detail: { grant: toHex(g.objectId), expires_at: new Date(g.expiresAt * 1000).toISOString() } });
    this.o.logger.info({ event: 'grant.expired', gateway: this.gw, grant: toHex(g.objectId) }, 'Discovery Grant expired during the session: nothing more is stored under it');
    await this.send({ t: 'refused', code: ErrorCode.ARTEFACT_EXPIRED });
    this.session.close();
    return true;
  }

  /** Stores a window (or a requested range), then receipts it (a pushed window only). */
  private async window(w: number, rows: readonly WireReading[], receipt: boolean): Promise<void> {
    if (await this.expired()) return;
    const grant = this.grant!;
    // Checked and stored in one turn of this gateway (consents.ts turn()): a revocation another
    // session applies meanwhile is recorded either before the check or after the commit, whose
    // readings its deletion then finds.
    const kept = await this.o.consents.turn(this.gw, async () => {
      const kept = rows.filter((r) => this.inScope(grant, r.slot));
      if (kept.length < rows.length) {
        this.o.stats.refused += rows.length - kept.length;
        await this.o.store.audit({ at: this.now(), gateway: this.gateway, event: 'readings.refused', detail: { code: 'OUT_OF_SCOPE', grant: toHex(grant.objectId), readings: rows.length - kept.length } });
      }
      if (kept.length > 0) await this.store(kept);
      return kept;
    });
    this.o.stats.windows++;
    if (receipt) {
      const rc = this.o.receipts.accept(this.gateway, grant.objectId, grant.body.scope.map((s) => s.slot), rangesOf(kept));
      await this.send({ t: 'receipt', w, rc });
    }
    await this.askForGaps(kept);
  }

  private async store(kept: readonly WireReading[]): Promise<void> {
    const r = await this.o.store.insert(kept.map((x) => ({ ...x, gateway: this.gateway })), this.now());
    this.o.stats.stored += r.inserted;
    this.o.stats.duplicates += r.duplicates;
    this.o.stats.conflicts += r.conflicts.length;
    for (const c of r.conflicts) {
      this.o.logger.warn({ event: READING_CONFLICT_EVENT, gateway: this.gw, ...c.detail }, 'a reading was sent again with other content under the same (slot, epoch, seq): the first copy is kept (a gateway fault, a lost boot epoch, or tampering)');
    }
  }

  /**
   * The slots grant `grantId` of this gateway covers: the session's grant, or one accepted here
   * before (its `grant.accepted` audit entries); undefined when it covers every slot ("*"); none for
   * a grant never accepted here (nothing was stored under it).
   */
  private async slotsOf(grantId: Uint8Array): Promise<readonly string[] | undefined> {
    const g = this.grant;
    if (g !== undefined && toHex(g.objectId) === toHex(grantId)) return revokedScope(g.body.scope.map((s) => s.slot));
    const hex = toHex(grantId);
    const slots = new Set<string>();
    for await (const e of this.o.store.auditEvents(GRANT_ACCEPTED_EVENT)) {
      if (e.detail.grant !== hex || toHex(e.gateway) !== this.gw || !Array.isArray(e.detail.scope)) continue;
      for (const x of e.detail.scope as unknown[]) {
        const slot = (x as { slot?: unknown } | null)?.slot;
        if (typeof slot === 'string') slots.add(slot);
      }
    }
    return revokedScope([...slots]);
  }

  /** §11.3: a slot's seqs jumped within one boot epoch: ask for what lies between (a no-op when the log dropped it). */
  private async askForGaps(rows: readonly WireReading[]): Promise<void> {
    for (const r of rows) {
      const p = this.positions.get(r.slot);
      if (p !== undefined && p.epoch === r.epoch && r.seq > p.seq + 1) {
        await this.send({ t: 'request', id: this.nextRequest++, slot: r.slot, epoch: r.epoch, first: p.seq + 1, last: r.seq - 1 });
      }
      if (p === undefined || r.epoch > p.epoch || (r.epoch === p.epoch && r.seq > p.seq)) this.positions.set(r.slot, { epoch: r.epoch, seq: r.seq });
    }
  }

  private async revoke(bytes: Uint8Array): Promise<void> {
    const o = this.o;
    const grant = this.grant!;
    let rev;
    try {
      rev = validateDiscoveryRevocation(o.provider, bytes, { publisher: { cid: this.gateway, publicKey: this.session.keys.peerPCert.body.publicKey }, indexer: o.self });
    } catch (e) {
      await o.store.audit({ at: this.now(), gateway: this.gateway, event: 'revoke.refused', detail: { code: isCodedError(e) ? e.code : 'INVALID', reason: (e as Error).message } });
      return;
    }
    // A revocation without a grant id withdraws the whole relationship (docs/PROFILE.md): the grant
    // in force here, and every other grant this gateway issued to us up to then (relationshipAtMs).
    const relationship = rev.body.grantId === undefined;
    const grantId = rev.body.grantId ?? grant.objectId;
    const gw = toHex(this.gateway);
    if (!o.consents.mayNote(gw, toHex(grantId))) {
      const reason = `this gateway already revoked ${MAX_REVOKED_GRANTS_PER_GATEWAY} grants here; revoke the whole relationship instead`;
      await o.store.audit({ at: this.now(), gateway: this.gateway, event: 'revoke.refused', detail: { code: ErrorCode.REVOCATION_LIMIT, reason, grant: toHex(grantId) } });
      return;
    }
    const slots = revokedScope(rev.body.scope);
    // What is deleted: the revoked slots; for a whole grant, the slots it covered (readings of this
    // gateway's other grants stay); for the relationship, every slot.
    const deleting = slots ?? (relationship ? undefined : await this.slotsOf(grantId));
    const scope = { revocation: rev.objectId, gateway: this.gateway, ...(deleting !== undefined ? { slots: deleting } : {}) };
    // Recorded (with its audit entry) before anything is deleted: deleting runs in chunks, and a
    // failure midway must leave the revocation in force and its readings out of view, to be finished
    // by purges.ts — not half of them deleted, the rest served, and the revocation unknown. In a turn
    // of this gateway (consents.ts turn()): a window of another session checked before this is
    // noted has committed before it is recorded, so the deletion below finds its readings.
    await o.consents.turn(gw, async () => {
      const detail = { grant: toHex(grantId), revocation: toHex(rev.objectId), ...(slots !== undefined ? { slots } : {}), ...(relationship ? { relationshipAtMs: rev.body.atMs } : {}) };
      const recorded = await o.store.revoke(scope, { at: this.now(), gateway: this.gateway, event: REVOKE_EVENT, detail });
      // Recorded before: sent again (the gateway does, every session, until it holds our receipt).
      // As it was, it adds nothing and is not audited again — one entry per session would grow the
      // trail for as long as a confirmation is lost. The relationship's sent again in the session of
      // a grant issued since withdraws that grant too (the gateway holds it so while the revocation
      // is in its file): audited, or a restart would take that grant again. Its readings were
      // deleted with the first: none is stored under a grant the gateway holds withdrawn.
      if (!recorded && o.consents.adds(gw, toHex(grantId), slots, relationship ? rev.body.atMs : undefined)) {
        await o.store.audit({ at: this.now(), gateway: this.gateway, event: REVOKE_EVENT, detail: { ...detail, resent: true } });
      }
      o.consents.note(gw, toHex(grantId), slots);
      if (relationship) o.consents.noteRelationship(gw, rev.body.atMs);
    });
    const deleted = await o.purges.finish(scope);
    o.logger.info({ event: REVOKE_EVENT, gateway: this.gw, grant: toHex(grantId), slots, deleted }, 'consent revoked: publishing under it stopped, its readings deleted');
    const rc = o.receipts.revoke(this.gateway, grantId, slots ?? grant.body.scope.map((s) => s.slot), deleted);
    await this.send({ t: 'revoked', rev: rev.objectId, rc });
    // The session's grant ends with it withdrawn (wholly, or the relationship); revoking an older grant leaves it in force.
    if (slots === undefined && (relationship || toHex(grantId) === toHex(grant.objectId))) this.grant = undefined;
  }
}
