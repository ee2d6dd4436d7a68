// EP view of one stitch (draft §4 step 5: the RN's join of two sessions into a ZPIT). A stitch
// carries opaque E2E bytes (handshake flights, then blocks); it is RN-local state (draft §11.5),
// so it is never carried across a reconnect: the session layer re-joins instead.

import { ErrorCode, ProtocolError } from '../errors.js';
import { StateError, type CodedError } from '../../lib/errors.js';
import { UnstitchCode } from './constants.js';
import { totalLength } from '../bytes.js';

/**
 * Why a stitch ended when this side did not end it: the other EP or the RN sent UNSTITCH
 * (`by: 'peer'`, with the UNSTITCH code), or the RN link itself went away (`by: 'link'`, the
 * link's error as `cause`). `code` is JOIN_REFUSED when the target rejected the OFFER, else the
 * link error's code or LINK_CLOSED.
 */
export class StitchClosedError extends ProtocolError {
  constructor(
    readonly stitchId: number,
    readonly by: 'peer' | 'link',
    readonly unstitchCode?: number,
    /** The link's own error: a protocol or link code (uzp/errors.ts or lib CommonCode). */
    cause?: CodedError,
  ) {
    super(
      unstitchCode === UnstitchCode.REJECTED ? ErrorCode.JOIN_REFUSED : ((cause?.code as ErrorCode | undefined) ?? ErrorCode.LINK_CLOSED),
      by === 'link'
        ? `stitch ${stitchId}: RN link lost: ${cause?.message ?? 'closed'}`
        : unstitchCode === UnstitchCode.FAR_RN_GONE
          ? `stitch ${stitchId}: ended by the RN: the other RN of this stitch across the fabric is gone (UNSTITCH code ${unstitchCode})`
          : `stitch ${stitchId}: ended by the other side (UNSTITCH code ${unstitchCode})`,
      'peer',
      cause === undefined ? undefined : { cause },
    );
  }
}

export interface Stitch {
  readonly id: number;
  /** CID of the RN that carries the stitch. */
  readonly rnCid: Uint8Array;
  /** Largest payload send() accepts (the RN's max_frame minus the RELAY header). */
  readonly maxPayload: number;
  readonly closed: boolean;
  /** Queues one RELAY frame; false means the socket buffer is full: wait for onDrain. */
  send(payload: Uint8Array): boolean;
  /** send() of the payload made of `pieces` in order (a sealed block), written without joining them. */
  sendPieces(pieces: readonly Uint8Array[]): boolean;
  /** What was sent this turn leaves now instead of at the end of the turn (Writer.flush). */
  flush(): void;
  /**
   * One consumer; payloads that arrived before it was set are delivered on set. A consumer that
   * uses each payload synchronously and keeps no reference to it says `{ transient: true }`: it may
   * then get views into the link's read buffer, valid only until it returns. Any other consumer
   * gets payloads of its own.
   */
  onPayload(cb: (payload: Uint8Array) => void, opts?: PayloadOptions): void;
  /** `error` is undefined when this side closed (close() / reject()), else a StitchClosedError. */
  onClose(cb: (error?: StitchClosedError) => void): void;
  onDrain(cb: () => void): void;
  /** Sends UNSTITCH and forgets the stitch. Idempotent. */
  close(): void;
  /** The session found this path dead (PoR): have the link check its RN now. */
  suspect(): void;
}

export interface PayloadOptions {
  readonly transient?: boolean;
}

/** What a stitch needs from its link. */
export interface StitchHost {
  readonly maxPayload: number;
  readonly rnCid: Uint8Array;
  /** One RELAY frame whose payload is `payload`, or the pieces of one payload in order; `length` is its byte count. */
  sendRelay(stitchId: number, payload: Uint8Array | readonly Uint8Array[], length: number): boolean;
  /** Called once when the stitch is closed locally, so the link sends UNSTITCH and forgets it. */
  releaseStitch(stitchId: number): void;
  /** Writes what the link has corked this turn now. */
  flush(): void;
  probe(): void;
}

export class LinkStitch implements Stitch {
  private payloadCb: ((p: Uint8Array) => void) | null = null;
  private payloadTransient = false;
  private readonly closeCbs: ((e?: StitchClosedError) => void)[] = [];
  private readonly drainCbs: (() => void)[] = [];
  private early: Uint8Array[] = [];
  private isClosed = false;
  private closeError: StitchClosedError | undefined;

  constructor(
    readonly id: number,
    private readonly host: StitchHost,
    private readonly earlyMax: number,
    /** Offered through the fabric: the RN the initiator JOINed at, the session's RN on both sides (OFFER_VIA). */
    private readonly via?: Uint8Array,
  ) {}

  get maxPayload(): number {
    return this.host.maxPayload;
  }

  get rnCid(): Uint8Array {
    return this.via ?? this.host.rnCid;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  send(payload: Uint8Array): boolean {
    return this.relay(payload, payload.length);
  }

  sendPieces(pieces: readonly Uint8Array[]): boolean {
    return this.relay(pieces, totalLength(pieces));
  }

  flush(): void {
    if (!this.isClosed) this.host.flush();
  }

  private relay(payload: Uint8Array | readonly Uint8Array[], length: number): boolean {
    if (this.isClosed) throw new StateError(ErrorCode.LINK_CLOSED, `stitch ${this.id}: closed`);
    if (length > this.host.maxPayload) {
      throw new StateError(ErrorCode.LINK_FRAME_TOO_LARGE, `stitch ${this.id}: payload of ${length} bytes exceeds ${this.host.maxPayload}`);
    }
    return this.host.sendRelay(this.id, payload, length);
  }

  onPayload(cb: (payload: Uint8Array) => void, opts?: PayloadOptions): void {
    this.payloadCb = cb;
    this.payloadTransient = opts?.transient === true;
    const early = this.early;
    this.early = [];
    for (const p of early) cb(p);
  }

  /** Also told when the stitch closed before the callback was registered (e.g. UNSTITCH in the same read as JOINED). */
  onClose(cb: (error?: StitchClosedError) => void): void {
    if (this.isClosed) {
      const e = this.closeError;
      queueMicrotask(() => cb(e));
      return;
    }
    this.closeCbs.push(cb);
  }

  onDrain(cb: () => void): void {
    this.drainCbs.push(cb);
  }

  close(): void {
    if (this.isClosed) return;
    this.host.releaseStitch(this.id);
    this.ended(undefined);
  }

  suspect(): void {
    this.host.probe();
  }

  // ---- called by the link ----

  /**
   * A RELAY payload for this stitch. Before a consumer exists, keep a bounded few (drop beyond).
   * `transient`: a view into the link's read buffer, copied for anyone who may keep it.
   */
  deliver(payload: Uint8Array, transient = false): boolean {
    if (this.isClosed) return false;
    if (this.payloadCb !== null) {
      this.payloadCb(transient && !this.payloadTransient ? payload.slice() : payload);
      return true;
    }
    if (this.early.length >= this.earlyMax) return false;
    this.early.push(transient ? payload.slice() : payload);
    return true;
  }

  drained(): void {
    if (this.isClosed) return;
    for (const cb of this.drainCbs) cb();
  }

  /** The stitch is over; `error` undefined = closed by this side. */
  ended(error: StitchClosedError | undefined): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closeError = error;
    this.early = [];
    for (const cb of this.closeCbs) cb(error);
  }
}
