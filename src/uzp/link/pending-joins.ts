// The JOINs of one RN link still waiting for the RN's answer (draft §4 step 3): their ids, the
// timeout and the caller's abort signal. RnLink settles them on JOINED / JOIN_REFUSED and rejects
// every one when the link ends.

import type { Clock } from '../../lib/clock.js';
import { StateError, type CodedError } from '../../lib/errors.js';
import { ErrorCode, ProtocolError } from '../errors.js';
import type { Stitch } from './stitch.js';

interface Waiter {
  resolve(s: Stitch): void;
  reject(e: CodedError): void;
  /** Stops the timeout and the abort listener. */
  cancel(): void;
}

export class PendingJoins {
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 1;

  constructor(
    private readonly clock: Clock,
    private readonly timeoutMs: number,
  ) {}

  /**
   * A new join id (u32, never 0) and the promise of its stitch. The promise rejects with
   * LINK_TIMEOUT when no answer came within the timeout, LINK_CLOSED when `signal` aborts.
   */
  open(signal?: AbortSignal): { readonly id: number; readonly stitch: Promise<Stitch> } {
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffff_ffff ? 1 : this.nextId + 1;
    const stitch = new Promise<Stitch>((resolve, reject) => {
      const giveUp = (e: CodedError): void => {
        if (!this.waiting.delete(id)) return;
        cancel();
        reject(e);
      };
      const ms = this.timeoutMs;
      const cancelTimer = this.clock.setTimeout(() => giveUp(new ProtocolError(ErrorCode.LINK_TIMEOUT, `join ${id}: no answer within ${ms} ms`)), ms);
      const onAbort = (): void => giveUp(new StateError(ErrorCode.LINK_CLOSED, 'join aborted', { cause: signal?.reason }));
      signal?.addEventListener('abort', onAbort, { once: true });
      const cancel = (): void => {
        cancelTimer();
        signal?.removeEventListener('abort', onAbort);
      };
      this.waiting.set(id, { resolve, reject, cancel });
    });
    return { id, stitch };
  }

  /** Is join `id` still waiting (not answered, timed out or aborted)? */
  has(id: number): boolean {
    return this.waiting.has(id);
  }

  /** JOINED: join `id` gets its stitch; false when nobody waits for it any more. */
  resolve(id: number, stitch: () => Stitch): boolean {
    const w = this.take(id);
    if (w === undefined) return false;
    w.resolve(stitch());
    return true;
  }

  /** JOIN_REFUSED, or the link's end for one join: `id` fails with `e` (nothing when not waiting). */
  reject(id: number, e: CodedError): void {
    this.take(id)?.reject(e);
  }

  /** The link ended: every join still waiting fails with `e`. */
  rejectAll(e: CodedError): void {
    for (const id of [...this.waiting.keys()]) this.reject(id, e);
  }

  private take(id: number): Waiter | undefined {
    const w = this.waiting.get(id);
    if (w === undefined) return undefined;
    this.waiting.delete(id);
    w.cancel();
    return w;
  }
}
