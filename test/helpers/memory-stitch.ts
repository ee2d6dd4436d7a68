// An in-memory stitch pair standing in for an RN (session-layer tests without sockets). Payloads are
// delivered asynchronously and in order; a hook can drop, alter or duplicate them.

import type { StitchPort } from '../../src/uzp/session/session.js';
import { StateError } from '../../src/lib/errors.js';
import { ErrorCode } from '../../src/uzp/errors.js';

export type Hook = (payload: Uint8Array, from: 'a' | 'b') => Uint8Array[];

/** A path that carries payloads of at most `bytes` (as an RN's max_frame); `announce: false` hides it from the session. */
export interface PathLimit {
  readonly bytes: number;
  readonly announce: boolean;
}

class MemStitch implements StitchPort {
  peer!: MemStitch;
  private payloadCb: ((p: Uint8Array) => void) | undefined;
  private early: Uint8Array[] = [];
  private closeCbs: ((e?: Error) => void)[] = [];
  closed = false;
  readonly maxPayload: number | undefined;
  constructor(
    readonly id: number,
    readonly side: 'a' | 'b',
    private readonly hook: Hook,
    private readonly limit?: PathLimit,
  ) {
    this.maxPayload = limit?.announce === true ? limit.bytes : undefined;
  }
  send(payload: Uint8Array): boolean {
    if (this.closed) throw new Error('closed');
    // As src/uzp/link/stitch.ts: a payload over the path's frame is refused, not cut.
    if (this.limit !== undefined && payload.length > this.limit.bytes) throw new StateError(ErrorCode.LINK_FRAME_TOO_LARGE, `payload of ${payload.length} bytes exceeds ${this.limit.bytes}`);
    for (const p of this.hook(payload.slice(), this.side)) setImmediate(() => this.peer.deliver(p));
    return true;
  }
  deliver(p: Uint8Array): void {
    if (this.closed) return;
    if (this.payloadCb) this.payloadCb(p);
    else this.early.push(p);
  }
  onPayload(cb: (p: Uint8Array) => void): void {
    this.payloadCb = cb;
    const e = this.early;
    this.early = [];
    for (const p of e) cb(p);
  }
  onClose(cb: (e?: Error) => void): void {
    this.closeCbs.push(cb);
  }
  onDrain(): void {}
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const cb of this.closeCbs) cb();
    setImmediate(() => this.peer.remoteClosed());
  }
  remoteClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const cb of this.closeCbs) cb(new Error('peer closed'));
  }
}

export function stitchPair(hook: Hook = (p) => [p], limit?: PathLimit): [StitchPort & { closed: boolean }, StitchPort & { closed: boolean }] {
  const a = new MemStitch(1, 'a', hook, limit);
  const b = new MemStitch(1, 'b', hook, limit);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
