// The collector (ARCHITECTURE §Layers "collector role": the outbound-indexing Indexer), composed:
// identity and trust from its files, the database, RN links kept up like the gateway's (warm
// standby, draft §11.1) on which it accepts sessions, and for each session a gateway opened to it
// the publish intake (intake.ts). Like the gateway it holds no listener: gateways reach it through
// an RN, under a Grant of the trust domain naming it as audience with purpose telemetry.publish.

import type { Logger } from 'pino';
import { readArtefactFile } from '../files/artefact-file.js';
import { loadKeyFile } from '../files/keyfile.js';
import { loadTrustAnchor } from '../files/trust-anchor.js';
import { PUBLISH_PURPOSE } from '../hil/purposes.js';
import { TrustStore } from '../uzp/artefacts/trust.js';
import type { Grant, Valid } from '../uzp/artefacts/types.js';
import { toHex } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { nodeProvider } from '../uzp/crypto/node.js';
import { Endpoint } from '../uzp/endpoint.js';
import { SessionRefusals } from '../uzp/session-refusals.js';
import { systemClock } from '../lib/clock.js';
import { ErrorCode, ProtocolError } from '../uzp/errors.js';
import { LinkPool } from '../uzp/link/link-pool.js';
import type { Session } from '../uzp/session/session.js';
import type { CollectorConfig } from './config.js';
import { Consents } from './consents.js';
import { Purges } from './purges.js';
import { Retention } from './retention.js';
import { serveIntake, type IntakeStats } from './intake.js';
import { receiptSigner } from './receipts.js';
import type { ReadingStore } from './store/store.js';

export interface CollectorParts {
  readonly config: CollectorConfig;
  readonly store: ReadingStore;
  readonly logger: Logger;
  readonly provider?: CryptoProvider;
  /** Told when a publishing session opens or closes (the console's fleet view). */
  readonly onSessions?: () => void;
}

export class Collector {
  readonly cid: Uint8Array;
  readonly stats: IntakeStats = { sessions: 0, windows: 0, stored: 0, duplicates: 0, conflicts: 0, refused: 0 };
  private readonly links: LinkPool;
  private readonly endpoint: Endpoint;
  /** session.refused lines, bounded per RN. */
  private readonly refusals: SessionRefusals;
  private readonly sessions = new Set<Session>();

  private constructor(
    private readonly o: CollectorParts,
    private readonly consents: Consents,
    private readonly purges: Purges,
    private readonly retention: Retention,
  ) {
    const provider = o.provider ?? nodeProvider;
    const c = o.config;
    const id = loadKeyFile(provider, c.identity.key);
    const anchor = loadTrustAnchor(provider, c.trust.anchor);
    const trust = new TrustStore({ provider, rootPublicKey: anchor.rootPublicKey });
    trust.setRnSet(readArtefactFile(c.trust.rnSet));
    for (const r of c.trust.revocations) trust.setRevocation(readArtefactFile(r));
    const pcert = readArtefactFile(c.identity.pcert);
    // Our own PCert must be a collector's, valid under our anchor, or no RN lets us accept.
    trust.validatePCert(pcert, { role: 'collector', cid: id.cid });
    this.cid = id.cid;
    this.links = new LinkPool({ size: c.rnLinks, trust, identity: { seed: id.seed, pcert }, accept: true });
    this.endpoint = new Endpoint({
      trust,
      identity: { cid: id.cid, signer: id.signer, pcert },
      link: this.links,
      continuity: { trust },
      // Only gateways publish, and only under a Grant whose purposes include telemetry.publish.
      authorize: (info) => {
        if (info.initiatorPCert.body.role !== 'gateway') throw new ProtocolError(ErrorCode.PCERT_ROLE, `a ${info.initiatorPCert.body.role} cannot publish (only gateways do)`, 'policy');
        if (!info.grant.body.scopes.some((s) => s.purposes.some((p) => p.purpose === PUBLISH_PURPOSE))) throw new ProtocolError(ErrorCode.GRANT_PURPOSE, `the Grant does not carry ${PUBLISH_PURPOSE}`, 'policy');
      },
    });
    const receipts = receiptSigner(provider, id.signer, c.purposes);
    this.endpoint.on('session', (s: Session, info: { grant: Valid<Grant> }) => {
      this.sessions.add(s);
      o.onSessions?.();
      s.once('close', () => {
        this.sessions.delete(s);
        o.onSessions?.();
      });
      o.logger.info({ event: 'session.opened', gateway: toHex(s.peerCid) }, 'a gateway opened a publishing session');
      serveIntake(s, info.grant, { provider, self: id.cid, store: o.store, receipts, consents: this.consents, purges: this.purges, retention: this.retention, purposes: c.purposes, skewS: trust.skewSeconds, logger: o.logger, stats: this.stats });
    });
    // Bounded per RN whatever it offers (uzp/session-refusals.ts): one warning per refused OFFER let an RN fill the disk.
    const refusals = new SessionRefusals(o.logger, systemClock, undefined, 'gateway');
    this.refusals = refusals;
    this.endpoint.on('refused', (e: { code: string; message: string }, initiator: Uint8Array, rn: Uint8Array | undefined) => refusals.refused(e, initiator, rn));
  }

  /** Claims the store for this collector's identity, opens its consent record and builds the collector (not started). */
  static async create(parts: CollectorParts): Promise<Collector> {
    // The database is this identity's before anything of it is read (STORE_OWNED otherwise).
    await parts.store.claim(loadKeyFile(parts.provider ?? nodeProvider, parts.config.identity.key).cid);
    // Revocations a failure stopped midway are finished by the first retention sweep, at start.
    const purges = new Purges(parts.store, parts.logger);
    return new Collector(parts, await Consents.load(parts.store), purges, await Retention.load(parts.store, parts.logger, Date.now, purges));
  }

  /** The gateways with a publishing session now, and the RN each runs through. */
  liveGateways(): { gateway: Uint8Array; rn?: Uint8Array }[] {
    return [...this.sessions].map((s) => ({ gateway: s.peerCid, ...(s.rnCid !== undefined ? { rn: s.rnCid } : {}) }));
  }

  start(): this {
    const log = this.o.logger;
    this.links.on('up', (link) => log.info({ event: 'rn.attached', rn: toHex(link.rnCid), address: link.address }, 'attached to RN'));
    this.links.on('down', (err) => {
      if (err) log.warn({ event: 'rn.detached', code: err.code, reason: err.message }, 'no RN attached; reconnecting with backoff');
    });
    this.endpoint.accept();
    this.links.start();
    this.retention.start();
    log.info({ event: 'collector.started', cid: toHex(this.cid), db: this.o.store.kind }, 'collector started');
    return this;
  }

  async stop(): Promise<void> {
    this.endpoint.stopAccepting();
    this.refusals.stop();
    for (const s of this.sessions) s.close();
    await new Promise((r) => setTimeout(r, 100));
    this.links.stop();
    await this.retention.stop();
    await this.o.store.close();
    this.o.logger.info({ event: 'collector.stopped', ...this.stats }, 'collector stopped');
  }
}
