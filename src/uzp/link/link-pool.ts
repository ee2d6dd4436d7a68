// Warm standby (draft §11.1: "endpoints SHOULD keep multiple eligible alternate RNs rather than a
// single spare path"): a pool of LinkManagers, each attached to a different eligible RN of the
// accepted RN Set, so a failover needs no new attachment — the re-stitch JOINs at an RN this
// endpoint is already attached to. A responder accepts on every link; an initiator's JOIN tries
// the attached RNs in turn: an RN that does not hold the target (or is overloaded, or lost) does
// not end the attempt. Eligibility is re-read at every attempt (LinkManager.candidates()).

import { EventEmitter } from 'node:events';
import { isCodedError, StateError, type CodedError } from '../../lib/errors.js';
import { ErrorCode } from '../errors.js';
import { equal } from '../bytes.js';
import { LinkManager, type LinkManagerOptions } from './link-manager.js';
import type { Offer, RnLink } from './rn-link.js';
import type { Stitch } from './stitch.js';

/** RNs kept attached at once, where the set has that many. */
export const DEFAULT_STANDBY_LINKS = 2;

export interface LinkPoolOptions extends Omit<LinkManagerOptions, 'exclude'> {
  /** Attachments kept at distinct RNs (default 2; 1 = no warm standby). */
  readonly size?: number;
}

interface LinkPoolEvents {
  /** A link attached (any of the pool's). */
  up: [RnLink];
  /** A link went down or an attempt failed while no other link is attached; undefined after stop(). */
  down: [CodedError | undefined];
  offer: [Offer];
  /** Signed artefacts an RN offered (unverified: the listener verifies and adopts only newer ones). */
  artefact: [Uint8Array];
  /** A link went down or an attempt failed (every time, whatever the others do). */
  'link-down': [CodedError | undefined];
}

/** JOIN failures that are about that RN, not about us: try the next attached RN. */
const TRY_NEXT: ReadonlySet<string> = new Set([ErrorCode.PEER_NOT_ATTACHED, ErrorCode.PEER_NOT_ATTESTED, ErrorCode.JOIN_REFUSED, ErrorCode.LINK_CLOSED, ErrorCode.LINK_TIMEOUT]);

export class LinkPool extends EventEmitter<LinkPoolEvents> {
  private readonly managers: LinkManager[];

  constructor(opts: LinkPoolOptions) {
    super();
    const size = Math.max(1, Math.floor(opts.size ?? DEFAULT_STANDBY_LINKS));
    this.managers = [];
    for (let i = 0; i < size; i++) {
      const m: LinkManager = new LinkManager({ ...opts, exclude: () => this.heldBy(m) });
      m.on('up', (l) => this.emit('up', l));
      m.on('down', (e) => this.onDown(m, e));
      m.on('offer', (o) => (this.listenerCount('offer') > 0 ? this.emit('offer', o) : o.reject()));
      m.on('artefact', (b) => this.emit('artefact', b));
      this.managers.push(m);
    }
  }

  /** Every attached link, the longest-standing manager's first. */
  get links(): RnLink[] {
    const out: RnLink[] = [];
    for (const m of this.managers) if (m.link?.attached) out.push(m.link);
    return out;
  }

  /** CIDs of the RNs attached now (LinkPort: a standby stitch goes through one the session does not use). */
  attachedRns(): Uint8Array[] {
    return this.links.map((l) => l.rnCid);
  }

  /** The first attached link, if any. */
  get link(): RnLink | null {
    return this.links[0] ?? null;
  }

  /**
   * Failed rounds since the last stable attachment, of the manager that has done best: 0 while any
   * holds a link up stableMs (and after stop() if one did). With one eligible RN the manager that
   * attaches after an outage may be the standby one, the other waiting with its failures counted:
   * the first manager's count said `failures: N` beside a link up an hour.
   */
  get failures(): number {
    return Math.min(...this.managers.map((m) => m.failures));
  }

  get size(): number {
    return this.managers.length;
  }

  start(): void {
    for (const m of this.managers) m.start();
  }

  stop(): void {
    for (const m of this.managers) m.stop();
    this.emit('down', undefined);
  }

  accept(): void {
    for (const m of this.managers) m.accept();
  }

  retryNow(): void {
    for (const m of this.managers) m.retryNow();
  }

  /** Resolves once at least one link is attached (or rejects on abort). */
  ready(signal?: AbortSignal): Promise<RnLink> {
    const l = this.link;
    if (l !== null) return Promise.resolve(l);
    return new Promise((resolve, reject) => {
      const onUp = (link: RnLink): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(link);
      };
      const onAbort = (): void => {
        this.off('up', onUp);
        reject(new StateError(ErrorCode.LINK_CLOSED, 'waiting for an RN attachment: aborted', { cause: signal?.reason }));
      };
      if (signal?.aborted) return onAbort();
      this.once('up', onUp);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Links whose attachment is in progress (their managers' current attempts). */
  get attaching(): RnLink[] {
    const out: RnLink[] = [];
    for (const m of this.managers) if (m.attaching !== null) out.push(m.attaching);
    return out;
  }

  /**
   * JOIN through each attached RN in turn until one stitches; the last RN's error otherwise. With
   * no RN attached yet, through the first link still attaching: the JOIN leaves right behind its
   * AUTH, a round trip earlier than after OK (docs/PROFILE.md §Attachment). A failed attachment
   * fails that JOIN with the attachment's error; another link attaching first takes the JOIN over
   * (the RN of the first is told UNSTITCH if it stitches the abandoned JOIN later: RnLink).
   */
  async join(target: Uint8Array, grant: Uint8Array, ch1: Uint8Array | ((rn: Uint8Array) => Uint8Array), signal?: AbortSignal, prefer?: { readonly avoid?: Uint8Array; readonly exclude?: Uint8Array }): Promise<Stitch> {
    const avoid = prefer?.avoid;
    const exclude = prefer?.exclude;
    const attached = this.links;
    if (attached.length === 0 && prefer === undefined) {
      const attaching = this.attaching[0];
      if (attaching !== undefined) return this.joinWhileAttaching(attaching, target, grant, ch1, signal);
    }
    const usable = exclude === undefined ? attached : attached.filter((l) => !equal(l.rnCid, exclude));
    // The RN that just failed us goes last (a stalled RN still looks attached until its idle timeout).
    const links = avoid === undefined ? usable : [...usable].sort((a, b) => Number(equal(a.rnCid, avoid)) - Number(equal(b.rnCid, avoid)));
    if (links.length === 0) throw new StateError(ErrorCode.LINK_CLOSED, 'no RN attached (all RNs of the set unreachable so far)');
    let last: unknown;
    for (const link of links) {
      if (!link.attached) continue;
      try {
        return await link.join(target, grant, ch1, signal);
      } catch (e) {
        last = e;
        if (signal?.aborted || !isCodedError(e) || !TRY_NEXT.has(e.code)) throw e;
      }
    }
    throw last ?? new StateError(ErrorCode.LINK_CLOSED, 'no RN attached');
  }

  private async joinWhileAttaching(link: RnLink, target: Uint8Array, grant: Uint8Array, ch1: Uint8Array | ((rn: Uint8Array) => Uint8Array), signal: AbortSignal | undefined): Promise<Stitch> {
    const overtaken = new AbortController();
    const onUp = (l: RnLink): void => {
      if (l !== link && !link.attached) overtaken.abort();
    };
    this.on('up', onUp);
    try {
      return await link.join(target, grant, ch1, signal === undefined ? overtaken.signal : AbortSignal.any([signal, overtaken.signal]));
    } catch (e) {
      if (overtaken.signal.aborted && signal?.aborted !== true) return this.join(target, grant, ch1, signal);
      throw e;
    } finally {
      this.off('up', onUp);
    }
  }

  private heldBy(self: LinkManager): ReadonlySet<string> {
    const out = new Set<string>();
    for (const m of this.managers) {
      const rn = m !== self ? m.heldRn : undefined;
      if (rn !== undefined) out.add(rn);
    }
    return out;
  }

  private onDown(m: LinkManager, e: CodedError | undefined): void {
    if (e === undefined) return;
    this.emit('link-down', e);
    if (this.link === null) this.emit('down', e);
    // A sibling that idles because every RN was taken may use the one this manager let go.
    for (const other of this.managers) if (other !== m) other.wakeStandby();
  }
}
