// Every collector of the config's "publish" (issue #12), composed: each collector's Pantheon Grant
// (the trust domain lets this gateway reach it, purpose telemetry.publish) and the Discovery Grant
// this gateway signed for it (OI §9: the consent, its scope, purposes, constraints and policy) are
// checked at start, so a wrong file is one clear log line, not a silent publisher. Revocations this
// gateway signed (OI §11.6) narrow or end the consent, from the file at start and live when the
// file changes; each is delivered to its collector, which confirms with a signed receipt. What the
// collectors confirmed is written down (files/revocation-confirmations.ts), so after a restart a
// confirmed revocation is not sent again and a wholly revoked collector is not announced to at all.

import type { Logger } from 'pino';
import type { GatewayConfig } from '../../config/types.js';
import { configDigest } from '../../config/digest.js';
import { readArtefactFile } from '../../files/artefact-file.js';
import { MAX_REVOCATIONS, readDiscoveryRevocations } from '../../files/discovery-revocations.js';
import { readRevocationConfirmations, revocationConfirmationsFileOf, writeRevocationConfirmations, type ConfirmedBy, type RevocationConfirmation } from '../../files/revocation-confirmations.js';
import { watchFiles } from '../../files/watch.js';
import type { Clock } from '../../lib/clock.js';
import { encodeCatalogue } from '../../hil/publish-messages.js';
import type { TrustStore } from '../../uzp/artefacts/trust.js';
import { validateDiscoveryGrant, validateDiscoveryRevocation } from '../../uzp/artefacts/validate-discovery.js';
import { revokedScope } from '../../uzp/artefacts/discovery-revocation.js';
import { equal, toHex } from '../../uzp/bytes.js';
import type { CryptoProvider } from '../../uzp/crypto/provider.js';
import type { Endpoint } from '../../uzp/endpoint.js';
import type { Identity } from '../../uzp/identity/identity.js';
import type { AuditLog } from '../hil/audit.js';
import type { AudienceEntry, ReadingLog } from '../reading-log/reading-log.js';
import type { PublishStatus } from '../status-file.js';
import { catalogueOf, droppedFor } from './catalogue.js';
import type { PendingRevocation } from './publish-session.js';
import { Publisher, type Consent } from './publisher.js';
import { receiptChecker } from './receipt-check.js';
import { discoveryRevocationsFileOf } from './paths.js';
import { Freshness } from './freshness.js';

/** What happens to the readings of a collector whose files did not check out (status, log). */
const KEPT = 'the reading log keeps what it has not receipted (up to reading_log.max_mb, the oldest dropped beyond)';

export interface PublishersOptions {
  readonly config: GatewayConfig;
  readonly provider: CryptoProvider;
  readonly identity: Pick<Identity, 'cid' | 'publicKey'>;
  readonly trust: TrustStore;
  readonly endpoint: Endpoint;
  readonly log: ReadingLog;
  readonly audit: AuditLog;
  readonly logger: Logger;
  readonly clock: Clock;
}

/** Why the revocations file could not be read (status last_error). */
interface Unreadable {
  readonly code: string;
  readonly message: string;
  readonly at: string;
}

interface Entry {
  readonly key: string;
  readonly cid: Uint8Array;
  publisher?: Publisher;
  consent?: Consent;
  /** Why this collector is not published to (its files did not check out). */
  problem?: { code: string; message: string };
  revocations: PendingRevocation[];
  /** Object ids (hex) of the revocations this collector has in force: read at start, then as it confirms them. */
  confirmed: Set<string>;
}

export class Publishers {
  private readonly entries: Entry[] = [];
  private stopWatch: (() => void) | undefined;
  private readonly revocationsFile: string;
  private readonly confirmationsFile: string;
  private confirmations: RevocationConfirmation[];
  private readonly freshness: Freshness;
  /**
   * Why the revocations file has not been read since start (unreadable at start: permissions, a bad
   * edit, a broken link); until it has, nothing is published: a withdrawn consent must not be
   * ignored for not being readable. The publishers are held, not ended, so the reading log keeps
   * every reading for them until the file is fixed (watched, or SIGHUP).
   */
  private held: Unreadable | undefined;
  private started = false;

  constructor(private readonly o: PublishersOptions) {
    this.revocationsFile = discoveryRevocationsFileOf(o.config);
    this.confirmationsFile = revocationConfirmationsFileOf(o.config.identity.key);
    this.confirmations = this.readConfirmations();
    this.freshness = new Freshness(o.config.identity.key, o.logger);
    for (const c of o.config.publish?.collectors ?? []) this.entries.push(this.build(c.cid, c.grant, c.discoveryGrant));
    this.held = this.applyRevocations();
  }

  get size(): number {
    return this.entries.length;
  }

  start(): void {
    if (this.entries.length === 0) return;
    this.started = true;
    if (this.held === undefined) this.startPublishers();
    else this.o.logger.error({ event: 'publish.held', file: this.revocationsFile }, 'not publishing to any collector until the discovery revocations file can be read (a consent withdrawn there must not be ignored); fix it, and publishing starts');
    this.stopWatch = watchFiles([this.revocationsFile], () => this.reload(), {
      clock: this.o.clock,
      onError: (dir, err) => this.o.logger.warn({ event: 'publish.watch_failed', dir, reason: err.message }, 'cannot watch the revocations file; send SIGHUP after `uzpgw publish revoke`'),
    });
  }

  stop(): void {
    this.stopWatch?.();
    for (const e of this.entries) e.publisher?.stop();
  }

  /** SIGHUP or the file changed: take in new revocations and deliver them. */
  reload(): void {
    const before = new Map(this.entries.map((e) => [e.key, e.revocations.length]));
    if (this.applyRevocations() !== undefined) return;
    if (this.held !== undefined) {
      this.held = undefined;
      if (this.started) this.startPublishers();
      return;
    }
    for (const e of this.entries) if (e.revocations.length !== before.get(e.key)) e.publisher?.renew();
  }

  status(): PublishStatus[] {
    return this.entries.map((e) => {
      if (e.publisher === undefined) {
        // Its scope is unknown: what the log keeps for it is every slot's (audience(), below).
        return { collector: e.key, state: 'not_configured', unreceipted: this.o.log.unreceipted(e.key, () => true), receipts: 0, ...(e.problem ? { last_error: { ...e.problem, message: `${e.problem.message}; ${KEPT}`, at: new Date().toISOString() } } : {}) };
      }
      if (this.held !== undefined) return { ...e.publisher.status(), state: 'held', last_error: this.held };
      return e.publisher.status();
    });
  }

  private startPublishers(): void {
    for (const e of this.entries) e.publisher?.start();
  }

  /**
   * Every configured collector, as the log's deletes and byte bound ask for it (createGateway gives
   * the log this at start; reading-log/receipt-floors.ts):
   * a publisher by the slots its consent covers now; one whose files did not check out by its key
   * alone, waited for on every slot (its scope is unknown; CONFIG.md "every configured collector"):
   * a restart with its grant expired must not delete what it was owed. The byte bound still holds.
   */
  audience(): AudienceEntry[] {
    return this.entries.map((e) => {
      const p = e.publisher;
      return p === undefined ? e.key : { key: e.key, receives: (slot: string) => p.receives(slot), receivesAny: () => p.receivesAny() };
    });
  }

  private build(cid: Uint8Array, grantFile: string, discoveryFile: string): Entry {
    const o = this.o;
    const key = toHex(cid);
    const entry: Entry = { key, cid, revocations: [], confirmed: new Set(this.confirmations.filter((c) => c.collector === key).map((c) => c.revocation)) };
    let grant: Uint8Array;
    try {
      grant = readArtefactFile(grantFile);
      // The trust domain must let us reach this collector (checked again by the RN and the collector).
      o.trust.validateGrant(grant, { audience: cid, subject: o.identity.cid, nonce: 'ignore' });
      const dg = validateDiscoveryGrant(o.provider, readArtefactFile(discoveryFile), {
        publisher: { cid: o.identity.cid, publicKey: o.identity.publicKey },
        indexer: cid,
        nowS: Math.floor(Date.now() / 1000),
        skewS: o.trust.skewSeconds,
      });
      entry.consent = { grant: dg, revokedSlots: new Set(), revoked: false };
    } catch (e) {
      entry.problem = { code: (e as { code?: string }).code ?? 'PUBLISH_CONFIG', message: `${(e as Error).message} (collector ${entry.key.slice(0, 16)}…: ${grantFile}, ${discoveryFile})` };
      o.logger.error({ event: 'publish.not_configured', collector: entry.key, code: entry.problem.code, reason: entry.problem.message }, `not publishing to this collector: fix its grant files and restart; ${KEPT}`);
      return entry;
    }
    const dg = entry.consent.grant;
    const inScope = (slot: string): boolean => dg.body.scope.some((s) => s.slot === '*' || s.slot === slot);
    const catalogue = catalogueOf(o.config.slots, inScope);
    const digests = { catalogue: o.provider.blake3(encodeCatalogue(catalogue), 32), config: configDigest(o.config, o.provider) };
    entry.publisher = new Publisher({
      collector: cid,
      connect: (signal) => o.endpoint.connect(cid, grant, { signal }),
      log: o.log,
      consent: () => entry.consent!,
      announce: (action) => ({
        t: 'announce',
        action,
        ...(o.config.name !== undefined ? { name: o.config.name } : {}),
        board: o.config.board,
        catalogue,
        grant: dg.bytes,
        dropped: droppedFor(catalogue, o.log.stats().dropped),
        digests,
      }),
      fresh: () => this.freshness.changes(key, digests),
      announced: () => this.freshness.announced(key, digests),
      checkReceipt: receiptChecker(o.provider, o.identity.cid, dg.objectId),
      pendingRevocations: () => entry.revocations.filter((r) => !entry.confirmed.has(toHex(r.objectId))),
      confirmed: (rev, receipt) => {
        this.confirm(entry, [rev], 'receipt', toHex(receipt.objectId));
        if (entry.consent?.revoked === true) entry.publisher?.renew();
      },
      inForce: (revs) => this.confirm(entry, revs, 'refusal'),
      audit: o.audit,
      logger: o.logger,
      clock: o.clock,
    });
    return entry;
  }

  /** The confirmations written down; none (every revocation is delivered again) when the file is unreadable. */
  private readConfirmations(): RevocationConfirmation[] {
    try {
      return readRevocationConfirmations(this.confirmationsFile);
    } catch (e) {
      this.o.logger.warn({ event: 'publish.confirmations_unreadable', file: this.confirmationsFile, reason: (e as Error).message }, 'revocation confirmations unreadable: every revocation is delivered again');
      return [];
    }
  }

  /** Records that `entry`'s collector has `revs` in force, in memory and in the confirmations file. */
  private confirm(entry: Entry, revs: readonly PendingRevocation[], by: ConfirmedBy, receipt?: string): void {
    const at = new Date().toISOString();
    for (const rev of revs) {
      const revocation = toHex(rev.objectId);
      if (entry.confirmed.has(revocation)) continue;
      entry.confirmed.add(revocation);
      this.confirmations.push({ revocation, collector: entry.key, by, ...(receipt !== undefined ? { receipt } : {}), at });
    }
    this.confirmations = this.confirmations.slice(-MAX_REVOCATIONS);
    try {
      writeRevocationConfirmations(this.confirmationsFile, this.confirmations);
    } catch (e) {
      // Kept in memory: after a restart the revocation is delivered again, nothing worse.
      this.o.logger.warn({ event: 'publish.confirmations_unwritable', file: this.confirmationsFile, reason: (e as Error).message }, 'cannot write the revocation confirmations');
    }
  }

  /** Reads the revocations file; each valid revocation for a collector narrows or ends its consent. */
  /** Reads the revocations file into every consent; why not, when it cannot be read (what is in force stays). */
  private applyRevocations(): Unreadable | undefined {
    let envelopes: Uint8Array[];
    try {
      envelopes = readDiscoveryRevocations(this.revocationsFile);
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'FILE_INVALID';
      this.o.logger.error({ event: 'publish.revocations_unreadable', file: this.revocationsFile, code, reason: (e as Error).message }, 'discovery revocations unreadable: the ones already in force stay');
      return { code, message: (e as Error).message, at: new Date().toISOString() };
    }
    const me = { cid: this.o.identity.cid, publicKey: this.o.identity.publicKey };
    for (const e of this.entries) {
      const consent = e.consent;
      if (consent === undefined) continue;
      const revokedSlots = new Set(consent.revokedSlots);
      let revoked = consent.revoked;
      const pending: PendingRevocation[] = [];
      for (const bytes of envelopes) {
        let rev;
        try {
          rev = validateDiscoveryRevocation(this.o.provider, bytes, { publisher: me, indexer: e.cid });
        } catch {
          continue; // for another collector, or not ours: not this entry's business
        }
        if (rev.body.grantId !== undefined && !equal(rev.body.grantId, consent.grant.objectId)) continue;
        pending.push({ bytes, objectId: rev.objectId });
        const slots = revokedScope(rev.body.scope);
        if (rev.body.grantId === undefined || slots === undefined) revoked = true;
        else for (const s of slots) revokedSlots.add(s);
      }
      const grantSlots = consent.grant.body.scope.map((s) => s.slot);
      if (!grantSlots.includes('*') && grantSlots.every((s) => revokedSlots.has(s))) revoked = true;
      if (!consent.revoked && revoked) this.o.logger.info({ event: 'publish.consent_revoked', collector: e.key }, 'consent revoked for this collector');
      e.consent = { grant: consent.grant, revokedSlots, revoked };
      e.revocations = pending;
    }
    return undefined;
  }
}

