// An in-memory stitch pair standing in for an RN (session-layer tests without sockets). Payloads are
// delivered asynchronously and in order; a hook can drop, alter or duplicate them.

import type { StitchPort } from '../../src/uzp/session/session.js';

export type Hook = (payload: Uint8Array, from: 'a' | 'b') => Uint8Array[];

class MemStitch implements StitchPort {
  peer!: MemStitch;
  private payloadCb: ((p: Uint8Array) => void) | undefined;
  private early: Uint8Array[] = [];
  private closeCbs: ((e?: Error) => void)[] = [];
  closed = false;
  constructor(
    readonly id: number,
    readonly side: 'a' | 'b',
    private readonly hook: Hook,
  ) {}
  send(payload: Uint8Array): boolean {
    if (this.closed) throw new Error('closed');
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

export function stitchPair(hook: Hook = (p) => [p]): [StitchPort & { closed: boolean }, StitchPort & { closed: boolean }] {
  const a = new MemStitch(1, 'a', hook);
  const b = new MemStitch(1, 'b', hook);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
