// Recovery of an expired RN Set Statement through an RN (draft §11.1: endpoints keep a currently
// valid RN Set Statement "or an equivalent accepted RN set carried by bootstrap or recovery
// artefacts"). Once the installed statement has expired, no RN is eligible and the LinkManager can
// attach nowhere — the gateway would stay offline until someone replaced its file. Instead, while
// the LinkManager reports RNSET_NOT_ELIGIBLE and no RN is eligible, this dials an RN listed in the
// expired statement (authentic and once accepted; TrustStore.requireRecoveryRn) only to receive
// the artefacts that RN offers (CONTROL ARTEFACT). The link never accepts or joins a stitch, so
// nothing authorisation-relevant rests on the stale statement; every artefact it brings is
// verified against the trust anchor and adopted only if newer (artefact-intake.ts). Once a newer
// statement is adopted the LinkManager is nudged (retryNow) and, when its link is up, the
// recovery link is closed.

import type { Logger } from 'pino';
import { Backoff } from '../lib/backoff.js';
import { systemClock, type Clock } from '../lib/clock.js';
import type { CodedError } from '../lib/errors.js';
import type { RnEntry, RnSetBody } from '../uzp/artefacts/types.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { ErrorCode } from '../uzp/errors.js';
import { RnLink, type RnLinkOptions } from '../uzp/link/rn-link.js';

/** Pacing of recovery attempts while the RNs of the expired statement do not answer. */
const RECOVERY_BASE_MS = 1_000;
const RECOVERY_CAP_MS = 15_000;

interface RecoveryTrust {
  readonly provider: CryptoProvider;
  readonly rnSet: { readonly body: RnSetBody } | undefined;
  requireEligibleRn(rnPublicKey: Uint8Array, role?: string): RnEntry;
  requireRecoveryRn(rnPublicKey: Uint8Array, role?: string): RnEntry;
}

/** The LinkManager's events this listens to (a LinkManager or LinkPool fits). */
export interface RecoveryLinks {
  on(event: 'up', cb: (link: unknown) => void): unknown;
  on(event: 'down', cb: (err: CodedError | undefined) => void): unknown;
  off(event: 'up', cb: (link: unknown) => void): unknown;
  off(event: 'down', cb: (err: CodedError | undefined) => void): unknown;
}

interface RecoveryOptions {
  readonly trust: RecoveryTrust;
  readonly identity: RnLinkOptions['identity'];
  readonly links: RecoveryLinks;
  readonly log: Pick<Logger, 'info' | 'debug'>;
  /** Every artefact the RN offers on the recovery link. */
  readonly onArtefact: (bytes: Uint8Array, rn: string) => void;
  readonly rnRole?: string;
  readonly clock?: Clock;
  /** Injectable for tests; default RnLink.attach. */
  readonly attach?: (opts: RnLinkOptions) => Promise<RnLink>;
}

export class ArtefactRecovery {
  private link: RnLink | null = null;
  private attempt: AbortController | null = null;
  private cancelTimer: (() => void) | null = null;
  private cursor = 0;
  private stopped = true;
  private readonly clock: Clock;
  private readonly backoff = new Backoff({ baseMs: RECOVERY_BASE_MS, capMs: RECOVERY_CAP_MS });

  constructor(private readonly o: RecoveryOptions) {
    this.clock = o.clock ?? systemClock;
  }

  start(): void {
    this.stopped = false;
    this.o.links.on('down', this.onDown);
    this.o.links.on('up', this.onUp);
  }

  stop(): void {
    this.stopped = true;
    this.o.links.off('down', this.onDown);
    this.o.links.off('up', this.onUp);
    this.finish();
  }

  /** The recovery link, while one is attached (tests). */
  get attached(): boolean {
    return this.link !== null;
  }

  private readonly onDown = (err: CodedError | undefined): void => {
    if (err?.code === ErrorCode.RNSET_NOT_ELIGIBLE) void this.dial();
  };

  /** The LinkManager attached: the statement in force works again; recovery is over. */
  private readonly onUp = (): void => {
    if (this.link !== null) this.o.log.info({ event: 'artefact.recovery_done' }, 'attached to an eligible RN again; closing the recovery link');
    this.finish();
    this.backoff.reset();
  };

  private finish(): void {
    this.cancelTimer?.();
    this.cancelTimer = null;
    this.attempt?.abort();
    this.attempt = null;
    const l = this.link;
    this.link = null;
    l?.close();
  }

  /**
   * Addresses to dial, each with the RN the statement lists there: none while any RN is eligible
   * (the LinkManager's job), else those of the installed statement.
   */
  private candidates(): { address: string; publicKey: Uint8Array }[] {
    const t = this.o.trust;
    const out: { address: string; publicKey: Uint8Array }[] = [];
    for (const rn of t.rnSet?.body.rns ?? []) {
      try {
        t.requireEligibleRn(rn.publicKey, this.o.rnRole);
        return [];
      } catch {
        // not eligible now: maybe for recovery
      }
      try {
        t.requireRecoveryRn(rn.publicKey, this.o.rnRole);
        for (const address of rn.addresses) out.push({ address, publicKey: rn.publicKey });
      } catch {
        // revoked or not in the role: never dialled
      }
    }
    return out;
  }

  private async dial(): Promise<void> {
    if (this.stopped || this.link !== null || this.attempt !== null || this.cancelTimer !== null) return;
    const addrs = this.candidates();
    if (addrs.length === 0) return;
    const { address, publicKey } = addrs[this.cursor++ % addrs.length]!;
    const ac = new AbortController();
    this.attempt = ac;
    const t = this.o.trust;
    let link: RnLink;
    try {
      link = await (this.o.attach ?? RnLink.attach)({
        address,
        // As the LinkManager's links: the RN that answers must be the one listed at this address
        // (ATTACH_RN_MISMATCH, checked after its signature; draft §11.1). Without it any RN of the
        // statement answering here was taken, and its artefacts with it.
        expectRn: publicKey,
        // Recovery eligibility for this link only: listed in the installed (expired) statement.
        trust: { provider: t.provider, requireEligibleRn: (pk, role) => t.requireRecoveryRn(pk, role) },
        identity: this.o.identity,
        signal: ac.signal,
        ...(this.o.rnRole !== undefined ? { rnRole: this.o.rnRole } : {}),
        ...(this.o.clock !== undefined ? { clock: this.o.clock } : {}),
      });
    } catch (e) {
      if (this.attempt !== ac) return;
      this.attempt = null;
      this.o.log.debug({ event: 'artefact.recovery_failed', rn: address, code: (e as CodedError).code, reason: (e as Error).message }, 'recovery attachment failed');
      this.again();
      return;
    }
    if (this.attempt !== ac || this.stopped) {
      link.close();
      return;
    }
    this.attempt = null;
    this.link = link;
    this.o.log.info(
      { event: 'artefact.recovery_attached', rn: address },
      `the RN Set Statement in force has expired: attached to ${address} only to receive a renewed one (no sessions on this link)`,
    );
    link.on('artefact', (b) => this.o.onArtefact(b, address));
    link.on('close', () => {
      if (this.link !== link) return;
      this.link = null;
      this.again();
    });
  }

  /** Tries again later while recovery is still needed (the LinkManager's own downs also trigger it). */
  private again(): void {
    if (this.stopped || this.cancelTimer !== null) return;
    this.cancelTimer = this.clock.setTimeout(() => {
      this.cancelTimer = null;
      void this.dial();
    }, Math.max(RECOVERY_BASE_MS, this.backoff.next()));
  }
}
