// Keeps one RN link attached (draft §11.2-§11.3): picks an RN from the currently accepted RN Set
// Statement, re-reading it before every attempt so eligibility is judged at failover time
// (§11.1), rotates through the RNs and their addresses, and reconnects with capped exponential
// backoff and full jitter. RN loss is an availability event (§11.2): the manager reconnects; it
// never carries stitches across (they are RN-local state, §11.5), and re-issues ACCEPT. With an
// `attest` source it also sends, on every new link, evidence bound to that attachment (CONTROL
// ATTEST), which an RN that requires attestation waits for before offering stitches.

import { EventEmitter } from 'node:events';
import type { RnSetBody } from '../artefacts/types.js';
import { ErrorCode, ValidationError, ProtocolError } from '../errors.js';
import { isCodedError, type CodedError } from '../../lib/errors.js';
import { Backoff } from '../../lib/backoff.js';
import { toHex } from '../bytes.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, BACKOFF_STABLE_MS } from './constants.js';
import type { InitiatorTrust } from './attach.js';
import { RnLink, type Offer, type RnLinkOptions } from './rn-link.js';

/** The part of TrustStore the manager reads: the currently accepted RN Set Statement. */
interface ManagerTrust extends InitiatorTrust {
  readonly rnSet: { readonly body: RnSetBody } | null | undefined;
}

export interface LinkManagerOptions {
  readonly trust: ManagerTrust;
  readonly identity: RnLinkOptions['identity'];
  readonly rnRole?: string;
  /** Responder mode: call accept() on every new link. */
  readonly accept?: boolean;
  readonly signal?: AbortSignal;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly backoffBaseMs?: number;
  readonly backoffCapMs?: number;
  /** A link that stayed up this long resets the backoff. */
  readonly stableMs?: number;
  /** Passed through to every RnLink (timeouts, keepalive, the 1-RTT attachment). */
  readonly link?: Pick<RnLinkOptions, 'timeoutMs' | 'keepaliveMs' | 'idleTimeoutMs' | 'joinTimeoutMs' | 'oneRtt'>;
  /**
   * Attestation evidence for a new attachment: called after every (re)attachment with the link's
   * attestationContext (nonce: eat_nonce, binding: binding claim); the result goes out as ATTEST.
   * A failure is reported to onAttestError and the link carries on unattested (the RN decides).
   */
  readonly attest?: (nonce: Uint8Array, binding: Uint8Array) => Promise<Uint8Array>;
  readonly onAttestError?: (e: unknown) => void;
  /** Injectable for tests; default RnLink.attach. */
  readonly attach?: (opts: RnLinkOptions) => Promise<RnLink>;
  /**
   * RNs (public key, hex) this manager must not use: the ones its siblings in a LinkPool hold, so
   * the warm standby is at another RN (draft §11.1). Read at every attempt.
   */
  readonly exclude?: () => ReadonlySet<string>;
}

/**
 * A link that stayed up this long is replaced without backoff when it drops... unless the link
 * before it, to the same RN, also dropped before it was stable (BACKOFF_STABLE_MS) less than that
 * long ago: an RN that closes, drains or breaks every link after a second or two was otherwise
 * reconnected about once a second for good (a hostile-RN review: 26 attachments in 30 s). Per RN,
 * not per manager: counting every unstable drop slowed failover when different RNs failed one
 * after another (chaos.test.ts's kills re-stitched in up to 1.5 s instead of 0.1 s).
 */
const IMMEDIATE_AFTER_UP_MS = 1_000;
/**
 * ...after this pause: sessions re-stitch through the standby link first (a JOIN), before this
 * process spends its CPU on a new attachment's handshake (measured: replacing at once made the
 * re-stitch JOIN wait ~12 ms behind two attachments' crypto in the same event loop).
 */
export const REPLACE_AFTER_MS = 100;

/** With every eligible RN held by a sibling, look again this often (a sibling may let one go). */
const EXCLUDED_RECHECK_MS = 1_000;

interface LinkManagerEvents {
  up: [RnLink];
  /** A link went down or an attempt failed; `undefined` after stop(). */
  down: [CodedError | undefined];
  /** OFFERs of whichever link is current. */
  offer: [Offer];
  /** Signed artefacts the current link's RN offered (CONTROL ARTEFACT), unverified (draft §11.1). */
  artefact: [Uint8Array];
}

export class LinkManager extends EventEmitter<LinkManagerEvents> {
  private current: RnLink | null = null;
  /** The link of the attempt in progress, once connected (RnLink.begin): a JOIN may go behind its AUTH. */
  private attachingLink: RnLink | null = null;
  private readonly backoff: Backoff;
  private readonly clock: Clock;
  private stopped = false;
  private started = false;
  private responder: boolean;
  private cancelTimer: (() => void) | null = null;
  private attempt: AbortController | null = null;
  private cursor = 0;
  private upAt = 0;
  /** The RN (key, hex) whose link last dropped before it was stable, and when. */
  private unstable: { readonly rn: string; readonly at: number } | undefined;
  /** The RN (public key, hex) of the current attempt or link. */
  private rnKey: string | undefined;
  /** Waiting because siblings hold every eligible RN (not a failure: no backoff). */
  private standby = false;
  /** Addresses not yet tried in this round: each is tried once at once, then the backoff applies. */
  private roundLeft = 0;

  constructor(private readonly opts: LinkManagerOptions) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.responder = opts.accept ?? false;
    this.backoff = new Backoff({ baseMs: opts.backoffBaseMs ?? BACKOFF_BASE_MS, capMs: opts.backoffCapMs ?? BACKOFF_CAP_MS, ...(opts.random ? { random: opts.random } : {}) });
    opts.signal?.addEventListener('abort', () => this.stop(), { once: true });
  }

  /**
   * The link still attaching, if any (not with an injected `attach`): a join made on it leaves right
   * behind its AUTH instead of after OK (RnLink.begin; docs/PROFILE.md §Attachment).
   */
  get attaching(): RnLink | null {
    return this.attachingLink;
  }

  /** The attached link, if any. */
  get link(): RnLink | null {
    return this.current;
  }

  /** The RN (public key, hex) this manager is attached or attaching to. */
  get heldRn(): string | undefined {
    return this.rnKey;
  }

  /**
   * Failed rounds (every address tried once) since the last stable attachment: 0 as soon as the
   * current link has been up stableMs, not only once it closes, and after a stop() that found it so.
   * Read while a link stays up for hours (the status file's rn.failures, and its last one, written
   * after the gateway stopped its links), the count of the failures before it was stale. The
   * backoff itself is reset at that link's close (below), before it is next used.
   */
  get failures(): number {
    return this.current !== null && this.clock.now() - this.upAt >= this.stableMs ? 0 : this.backoff.attempts;
  }

  private get stableMs(): number {
    return this.opts.stableMs ?? BACKOFF_STABLE_MS;
  }

  start(): void {
    if (this.started || this.stopped || this.opts.signal?.aborted) return;
    this.started = true;
    void this.connect();
  }

  /** Switch to responder mode now and after every reconnect. */
  accept(): void {
    this.responder = true;
    if (this.current?.attached) this.current.accept();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = null;
    this.attempt?.abort();
    const l = this.current;
    // A link stable at the stop ends the failures before it, as its close would have: the gateway
    // reads `failures` for its last status after stopping its links.
    if (l !== null && this.clock.now() - this.upAt >= this.stableMs) this.backoff.reset();
    this.current = null;
    l?.close();
    this.emit('down', undefined);
  }

  /**
   * Addresses of the RNs that are eligible right now (draft §11.1: re-evaluated at failover time
   * against the current RN Set Statement and revocation state, never remembered from last time).
   */
  private candidates(): { eligible: number; addrs: { address: string; rn: string; publicKey: Uint8Array }[] } {
    const rns = this.opts.trust.rnSet?.body.rns ?? [];
    const excluded = this.opts.exclude?.() ?? new Set<string>();
    const addrs: { address: string; rn: string; publicKey: Uint8Array }[] = [];
    let eligible = 0;
    for (const rn of rns) {
      try {
        this.opts.trust.requireEligibleRn(rn.publicKey, this.opts.rnRole);
      } catch {
        continue;
      }
      eligible++;
      const key = toHex(rn.publicKey);
      if (!excluded.has(key)) addrs.push(...rn.addresses.map((address) => ({ address, rn: key, publicKey: rn.publicKey })));
    }
    return { eligible, addrs };
  }

  /**
   * Try now instead of waiting out the backoff (a newer RN Set was adopted, a sibling link went
   * away). No-op while attached or attempting.
   */
  retryNow(): void {
    if (this.stopped || !this.started || this.current !== null || this.attempt !== null || this.cancelTimer === null) return;
    this.cancelTimer();
    this.cancelTimer = null;
    void this.connect();
  }

  /** A sibling let an RN go: a manager in standby looks again now. */
  wakeStandby(): void {
    if (this.standby) this.retryNow();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const { eligible, addrs } = this.candidates();
    this.rnKey = undefined;
    this.standby = addrs.length === 0 && eligible > 0;
    if (this.standby) {
      // Every eligible RN is held by a sibling: a standby, not a failure.
      this.cancelTimer = this.clock.setTimeout(() => {
        this.cancelTimer = null;
        void this.connect();
      }, EXCLUDED_RECHECK_MS);
      return;
    }
    if (addrs.length === 0) {
      this.retry(new ValidationError(ErrorCode.RNSET_NOT_ELIGIBLE, 'no RN Set Statement with a reachable RN is loaded'));
      return;
    }
    if (this.roundLeft <= 0) this.roundLeft = addrs.length;
    const pick = addrs[this.cursor++ % addrs.length]!;
    const address = pick.address;
    this.rnKey = pick.rn;
    const ac = new AbortController();
    this.attempt = ac;
    let link: RnLink;
    try {
      const linkOpts: RnLinkOptions = {
        ...this.opts.link,
        address,
        // The RN listed at this address must be the one that answers (ATTACH_RN_MISMATCH): rnKey,
        // which keeps the siblings of a pool off this RN, then names the RN actually attached.
        expectRn: pick.publicKey,
        trust: this.opts.trust,
        identity: this.opts.identity,
        signal: ac.signal,
        ...(this.opts.rnRole !== undefined ? { rnRole: this.opts.rnRole } : {}),
        ...(this.opts.clock ? { clock: this.opts.clock } : {}),
      };
      if (this.opts.attach !== undefined) link = await this.opts.attach(linkOpts);
      else {
        const begun = RnLink.begin(linkOpts);
        this.attachingLink = begun.link;
        try {
          link = await begun.attached;
        } finally {
          this.attachingLink = null;
        }
      }
    } catch (e) {
      this.attempt = null;
      this.rnKey = undefined;
      if (this.stopped) return;
      // The other addresses of this round first, at once (a dead RN must not delay a live one).
      this.retry(isCodedError(e) ? e : new ProtocolError(ErrorCode.LINK_CLOSED, `attach to ${address}: ${String(e)}`, 'local', { cause: e }), --this.roundLeft > 0 ? 'next' : 'backoff');
      return;
    }
    this.attempt = null;
    if (this.stopped) {
      link.close();
      return;
    }
    // OK and a frame that ends the link can arrive in one read: the attach resolved, then the link
    // closed before this resumed, with nobody listening. Taken as current it never reconnected
    // (and accept() on it threw out of this async function: an unhandled rejection). The link's own
    // error is what is reported (a frame over max_frame, a second OK), not a bare "closed".
    if (!link.attached) {
      this.rnKey = undefined;
      this.retry(link.closedWith ?? new ProtocolError(ErrorCode.LINK_CLOSED, `RN link ${address} closed as it attached`), 'backoff');
      return;
    }
    this.current = link;
    this.roundLeft = 0;
    this.upAt = this.clock.now();
    // Stay on this RN next time (a healthy RN is preferred over rotating away from it).
    this.cursor = Math.max(0, this.cursor - 1);
    // Nobody listening on the manager means nobody would ever decide: reject at once.
    link.on('offer', (o) => (this.listenerCount('offer') > 0 ? this.emit('offer', o) : o.reject()));
    link.on('artefact', (b) => this.emit('artefact', b));
    // The RN is going away (draft §11.2 maintenance signal, sealed on this link): leave now and
    // attach elsewhere; sessions on it fail over to the other links of the pool and re-stitch.
    link.on('drain', () => {
      if (this.current === link) link.close();
    });
    link.on('close', (err) => {
      if (this.current !== link) return;
      this.current = null;
      this.rnKey = undefined;
      if (this.stopped) return;
      const now = this.clock.now();
      const upMs = now - this.upAt;
      const stableMs = this.stableMs;
      if (upMs >= stableMs) this.backoff.reset();
      this.cursor++; // fail over to the next address first
      // A link that was up a while is replaced at once, but not twice in a row for one RN whose
      // links do not last (IMMEDIATE_AFTER_UP_MS): that RN meets the backoff.
      const again = this.unstable !== undefined && this.unstable.rn === pick.rn && now - this.unstable.at < stableMs;
      this.unstable = upMs >= stableMs ? undefined : { rn: pick.rn, at: now };
      const replace = upMs >= IMMEDIATE_AFTER_UP_MS && !again;
      const why = link.draining ? `RN link ${address}: the RN is draining (DRAIN), leaving it` : `RN link ${address} closed`;
      this.retry(err ?? new ProtocolError(ErrorCode.LINK_CLOSED, why), replace ? 'replace' : 'backoff');
    });
    if (link.draining) {
      link.close(); // its DRAIN came in the same read as OK, before the listener above: leave now
      return;
    }
    if (this.responder) link.accept();
    if (this.opts.attest !== undefined) void this.sendEvidence(link, this.opts.attest);
    this.emit('up', link);
  }

  /**
   * ACCEPT goes out at once and ATTEST once the evidence is made (a bundle measurement can take a
   * while): an RN that requires attestation holds the ACCEPT until the evidence arrives.
   */
  private async sendEvidence(link: RnLink, attest: NonNullable<LinkManagerOptions['attest']>): Promise<void> {
    try {
      const ctx = link.attestationContext;
      const evidence = await attest(ctx.nonce, ctx.binding);
      // The link may have dropped while the evidence was made: it belongs to that attachment only.
      if (this.current === link && link.attached) link.attest(evidence);
    } catch (e) {
      this.opts.onAttestError?.(e);
    }
  }

  /** 'next': the next address of this round at once; 'replace': a lost link, shortly; 'backoff': after the backoff delay. */
  private retry(err: CodedError, how: 'next' | 'replace' | 'backoff' = 'backoff'): void {
    this.emit('down', err);
    if (this.stopped) return;
    if (how === 'next') {
      // Not a timer: nothing to wait for (a fake clock need not be advanced for it either).
      const h = setImmediate(() => {
        this.cancelTimer = null;
        void this.connect();
      });
      this.cancelTimer = () => clearImmediate(h);
      return;
    }
    const delay = how === 'replace' ? REPLACE_AFTER_MS : this.backoff.next();
    this.cancelTimer = this.clock.setTimeout(() => {
      this.cancelTimer = null;
      void this.connect();
    }, delay);
  }
}
