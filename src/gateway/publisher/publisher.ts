// The gateway publishing to one collector (OI §7-§11), for as long as the gateway runs: open the
// session outbound (OI §11.1, under the Pantheon Grant), run it (publish-session.ts), and when it
// ends open another with backoff. A collector that refuses the announcement is retried slowly (a
// renewed grant or policy fixes that, not hammering), and so, ever more slowly, is one whose
// sessions end for its receipts (none, or none that check out: each such session resends its
// windows in flight); consent revoked for the whole grant stops it,
// once the collector has that revocation in force (OI §11.6): it confirmed it with a signed receipt,
// now or before a restart (publishers.ts writes it down), or it refused our announcement as REVOKED.
// What it did is audited (grant accepted/refused, receipts, revocations) and shown in `uzpgw status`.

import type { Logger } from 'pino';
import { Backoff } from '../../lib/backoff.js';
import type { Clock } from '../../lib/clock.js';
import type { PublishMessage } from '../../hil/publish-messages.js';
import type { DiscoveryGrant } from '../../uzp/artefacts/discovery-grant.js';
import type { Valid } from '../../uzp/artefacts/types.js';
import { toHex } from '../../uzp/bytes.js';
import { ErrorCode, ProtocolError } from '../../uzp/errors.js';
import type { Session } from '../../uzp/session/session.js';
import type { AuditLog } from '../hil/audit.js';
import type { ReadingLog } from '../reading-log/reading-log.js';
import type { PublishStatus } from '../status-file.js';
import { MAX_IGNORED_RECEIPTS, runPublishSession, type CheckedReceipt, type PendingRevocation } from './publish-session.js';

const BACKOFF = { baseMs: 500, capMs: 30_000 } as const;
/** After a refusal: the collector said no; retry rarely, until a renewed grant is in place. */
const REFUSED_RETRY_MS = 60_000;
/**
 * After a session that ended for its receipts (RECEIPT_TIMEOUT, or MAX_IGNORED_RECEIPTS that did
 * not check out) with none that moved the cursor: each such session resends up to MAX_IN_FLIGHT
 * windows (4 MiB), so a collector that never receipts costs at most that per 15 minutes on a
 * metered uplink, not per 30–60 s (~5 GiB a day), and its audit lines come as rarely. A receipt
 * that moves the cursor resets it.
 */
export const RECEIPT_BACKOFF = { baseMs: 30_000, capMs: 15 * 60_000 } as const;

export interface Consent {
  readonly grant: Valid<DiscoveryGrant>;
  /** Slots whose consent a revocation withdrew (from the grant's scope). */
  readonly revokedSlots: ReadonlySet<string>;
  /** The whole grant is revoked: nothing more is published under it. */
  readonly revoked: boolean;
}

export interface PublisherOptions {
  readonly collector: Uint8Array;
  readonly connect: (signal: AbortSignal) => Promise<Session>;
  readonly log: ReadingLog;
  readonly consent: () => Consent;
  readonly announce: (action: 'new' | 'refresh') => Extract<PublishMessage, { t: 'announce' }>;
  /** The `fresh` signals owed to this collector once it accepts (freshness.ts). */
  readonly fresh?: () => readonly Extract<PublishMessage, { t: 'fresh' }>[];
  /** The collector accepted the announcement and got its `fresh` signals. */
  readonly announced?: () => void;
  readonly checkReceipt: (bytes: Uint8Array, session: Session) => CheckedReceipt;
  readonly pendingRevocations: () => readonly PendingRevocation[];
  /** A revocation was confirmed by the collector's signed receipt. */
  readonly confirmed: (rev: PendingRevocation, receipt: CheckedReceipt) => void;
  /** The collector refused the announcement of our wholly revoked grant as REVOKED: `revs` are in force there. */
  readonly inForce: (revs: readonly PendingRevocation[]) => void;
  readonly audit: AuditLog;
  readonly logger: Logger;
  readonly clock: Clock;
  /** The backoffs' jitter, uniform in [0, 1) (lib/backoff.ts); default Math.random. */
  readonly random?: () => number;
}

export class Publisher {
  readonly key: string;
  private state = 'idle';
  private receipts = 0;
  private tooLarge = 0;
  private lastReceiptAt: number | undefined;
  private lastError: { code: string; message: string; at: number } | undefined;
  /**
   * Slots of the grant the collector said it holds revoked in its last `accepted` (one per session,
   * before the verdict), beyond our own record: at most the grant's slots, or 64 for a grant of "*".
   */
  private revokedThere: ReadonlySet<string> = new Set<string>();
  private readonly abort = new AbortController();
  private session: Session | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly o: PublisherOptions) {
    this.key = toHex(o.collector);
  }

  start(): void {
    void this.loop();
  }

  stop(): void {
    this.abort.abort();
    this.wake?.();
    this.session?.close();
  }

  /**
   * It may receive readings of `slot` now: the consent in force (grant scope less revocations, ours
   * and those the collector named). What a session sends, and whom the log's deletes wait for.
   */
  receives(slot: string): boolean {
    const c = this.o.consent();
    if (c.revoked || c.revokedSlots.has(slot) || this.revokedThere.has(slot)) return false;
    return c.grant.body.scope.some((s) => s.slot === '*' || s.slot === slot);
  }

  /** It may receive any reading now (its consent is not wholly revoked). */
  receivesAny(): boolean {
    return !this.o.consent().revoked;
  }

  /** Ends the current session so the next one carries what changed (a revocation, a renewed grant). */
  renew(): void {
    this.session?.close();
    this.wake?.();
  }

  status(): PublishStatus {
    return {
      collector: this.key,
      state: this.state,
      unreceipted: this.o.log.unreceipted(this.key, (slot) => this.receives(slot)),
      receipts: this.receipts,
      ...(this.tooLarge > 0 ? { too_large: this.tooLarge } : {}),
      ...(this.session?.rnCid !== undefined ? { rn: toHex(this.session.rnCid) } : {}),
      ...(this.lastReceiptAt !== undefined ? { last_receipt_at: new Date(this.lastReceiptAt).toISOString() } : {}),
      ...(this.lastError !== undefined ? { last_error: { code: this.lastError.code, message: this.lastError.message, at: new Date(this.lastError.at).toISOString() } } : {}),
    };
  }

  private failed(code: string, message: string): void {
    this.lastError = { code, message, at: Date.now() };
  }

  private async loop(): Promise<void> {
    const random = this.o.random !== undefined ? { random: this.o.random } : {};
    const backoff = new Backoff({ ...BACKOFF, ...random });
    const slow = new Backoff({ ...RECEIPT_BACKOFF, ...random });
    const signal = this.abort.signal;
    while (!signal.aborted) {
      // A revoked consent is still delivered (and confirmed) before the publisher stops (OI §11.6);
      // one the collector has in force already stops it before any session, after a restart too.
      if (this.finished()) {
        this.state = 'revoked';
        this.lastError = undefined;
        this.o.logger.info({ event: 'publish.stopped', collector: this.key }, 'consent for this collector is revoked: publishing stopped');
        return;
      }
      let wait = backoff.next();
      try {
        this.state = 'connecting';
        const session = await this.o.connect(signal);
        // Readings go only to a collector (PCert role "collector"): a configured CID that belongs
        // to an operator or another gateway gets no announcement, whatever its Grant says.
        const role = session.keys.peerPCert.body.role;
        if (role !== 'collector') {
          session.close();
          throw new ProtocolError(ErrorCode.PCERT_ROLE, `collector ${this.key.slice(0, 16)}… presents ${/^[aeiou]/.test(role) ? 'an' : 'a'} ${role} PCert: readings go only to collectors (check the CID in the config's publish.collectors)`, 'policy');
        }
        this.session = session;
        this.state = 'announcing';
        const cursor = this.o.log.cursor(this.key);
        const outcome = await runPublishSession(session, this.hooks(session));
        session.close();
        this.session = undefined;
        if (this.o.log.cursor(this.key) > cursor) slow.reset();
        if (outcome === 'refused') wait = REFUSED_RETRY_MS;
        else if (outcome === 'timeout') this.failed('ANNOUNCE_TIMEOUT', 'the collector did not answer the announcement');
        else if (outcome === 'receipt_timeout') {
          this.failed('RECEIPT_TIMEOUT', 'a window was not receipted in time; it is sent again');
          wait = slow.next();
        } else if (outcome === 'receipts_ignored') {
          this.failed('RECEIPTS_IGNORED', `${MAX_IGNORED_RECEIPTS} receipts that did not check out (publish.receipt_ignored): session closed; its windows are sent again`);
          wait = slow.next();
        } else if (this.state === 'publishing') backoff.reset();
      } catch (e) {
        const code = (e as { code?: string }).code ?? 'PUBLISH_FAILED';
        this.failed(code, (e as Error).message ?? String(e));
        // Unreachable is routine (debug); a peer that is no collector is a config error to fix (warn).
        this.o.logger[code === ErrorCode.PCERT_ROLE ? 'warn' : 'debug']({ event: 'publish.connect_failed', collector: this.key, code, reason: (e as Error).message }, code === ErrorCode.PCERT_ROLE ? 'not a collector: nothing is published to it' : 'collector not reachable; retrying with backoff');
      }
      if (signal.aborted) break;
      if (this.finished()) continue;
      this.state = this.state === 'refused' ? 'refused' : 'waiting';
      await new Promise<void>((r) => {
        const cancel = this.o.clock.setTimeout(r, wait);
        this.wake = () => {
          cancel();
          r();
        };
      });
      this.wake = undefined;
    }
    this.state = 'stopped';
  }

  /** Consent wholly revoked and every revocation of it in force at the collector: nothing left to do. */
  private finished(): boolean {
    return this.o.consent().revoked && this.o.pendingRevocations().length === 0;
  }

  private hooks(session: Session): Parameters<typeof runPublishSession>[1] {
    const grant = this.o.consent().grant;
    const scope = grant.body.scope.map((s) => s.slot);
    const all = scope.includes('*');
    const grantId = toHex(grant.objectId);
    return {
      log: this.o.log,
      collector: this.key,
      clock: this.o.clock,
      announce: () => this.o.announce(this.o.log.cursor(this.key) === 0 ? 'new' : 'refresh'),
      inScope: (slot) => this.receives(slot),
      ...(grant.body.constraints.maxRate !== undefined ? { maxRate: grant.body.constraints.maxRate } : {}),
      checkReceipt: this.o.checkReceipt,
      pendingRevocations: this.o.pendingRevocations,
      ...(this.o.fresh !== undefined ? { fresh: this.o.fresh } : {}),
      onFresh: (sent) => {
        for (const f of sent) this.o.audit.event('publish.fresh', { decision: 'allowed', collector: this.key, what: f.what, digest: toHex(f.digest) });
        this.o.announced?.();
      },
      onAccepted: (revoked) => {
        // Called once per session, with its verdict (publish-session.ts drops later ones).
        this.state = 'publishing';
        this.lastError = undefined;
        this.o.audit.event('publish.accepted', { decision: 'allowed', collector: this.key, grant: grantId });
        // Slots the collector holds revoked that our own record does not (a revocations file
        // restored or lost): not sent, so its windows can be receipted (PROFILE.md `accepted`).
        // Only slots of this grant: a name outside it narrows nothing and is not kept.
        const c = this.o.consent();
        const there = new Set(revoked.filter((s) => all || scope.includes(s)));
        const learned = [...there].filter((s) => !c.revokedSlots.has(s) && !this.revokedThere.has(s));
        this.revokedThere = there;
        if (learned.length > 0) this.o.audit.event('publish.revoked_there', { decision: 'refused', collector: this.key, grant: grantId, slots: learned }, 'warn');
      },
      onRefused: (code) => {
        this.state = 'refused';
        this.failed(code, 'the collector refused the announcement and Discovery Grant');
        this.o.audit.event('publish.refused', { decision: 'refused', code, collector: this.key, grant: grantId }, 'warn');
        // The collector refuses a grant as REVOKED only once it applied a revocation of all of it
        // (deleted, then recorded; collector/intake.ts): for a grant we revoked wholly that is what
        // our pending revocations ask, so it counts as their confirmation, without a receipt (the
        // collector answers a revoked announcement with nothing else; docs/PROFILE.md §Revocation).
        const pending = this.o.pendingRevocations();
        if (code === ErrorCode.REVOKED && this.o.consent().revoked && pending.length > 0) {
          this.o.audit.event('publish.revoked', { decision: 'allowed', collector: this.key, revocations: pending.map((r) => toHex(r.objectId)), confirmation: 'refusal' });
          this.o.inForce(pending);
        }
      },
      onReceipt: (r, readings) => {
        this.receipts++;
        this.lastReceiptAt = Date.now();
        this.o.logger.debug({ event: 'publish.receipt', collector: this.key, receipt: toHex(r.objectId), readings }, 'receipt');
      },
      onReceiptIgnored: (reason, code) => {
        this.failed(code, reason);
        this.o.audit.event('publish.receipt_ignored', { decision: 'refused', code, reason, collector: this.key }, 'warn');
      },
      onRevoked: (r, rev) => {
        this.o.audit.event('publish.revoked', { decision: 'allowed', collector: this.key, revocation: toHex(rev.objectId), receipt: toHex(r.objectId), deleted: r.deleted ?? 0 });
        this.o.confirmed(rev, r);
      },
      // A reading bigger than a publish message carries (MAX_READING_VALUE) cannot reach any
      // collector: it is passed over here, audited so the operator sees that a device produces such
      // frames rather than finding a silent gap, and stays in the reading log (a `tail` that
      // resumes can read it, within its session's message bound) until the byte bound drops it
      // (counted): no receipt ever covers it (reading-log/receipt-floors.ts).
      onTooLarge: (readings) => {
        this.tooLarge += readings;
        this.o.audit.event('publish.too_large', { decision: 'refused', collector: this.key, readings, total: this.tooLarge }, 'warn');
      },
      onBadMessage: (reason) => this.o.logger.debug({ event: 'publish.bad_message', collector: this.key, reason }, 'malformed message from the collector dropped'),
    };
  }
}
