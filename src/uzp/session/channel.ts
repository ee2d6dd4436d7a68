// A logical channel: one duplex stream of messages inside a session. Messages arrive exactly once
// and in order (the block layer guarantees it). send() waits for buffer room instead of growing
// memory; trySend() never waits.

import { EventEmitter } from 'node:events';
import { ErrorCode } from '../errors.js';
import { StateError } from '../../lib/errors.js';

/** What a channel needs from its session (kept narrow so channels are testable alone). */
export interface ChannelHost {
  sendOnChannel(id: number, message: Uint8Array, close: boolean): boolean;
  waitWritable(signal?: AbortSignal): Promise<void>;
  channelClosedLocally(id: number): void;
}

/** The second argument of a 'message' listener for a message that came as early data (0-RTT). */
export const EARLY = Object.freeze({ early: true as const });

export class Channel extends EventEmitter {
  private closedLocal = false;
  private closedRemote = false;
  private aborted = false;

  constructor(
    readonly id: number,
    private readonly host: ChannelHost,
  ) {
    super();
  }

  get closed(): boolean {
    return this.closedLocal;
  }

  /** The peer closed its half (or the session ended): no more messages will arrive. */
  get ended(): boolean {
    return this.closedRemote || this.aborted;
  }

  /** @internal the session ended: wake iterators and listeners. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }

  /** Queue one message; false when the session's send buffer is full (nothing queued). */
  trySend(message: Uint8Array): boolean {
    if (this.closedLocal) throw new StateError(ErrorCode.SESSION_CLOSED, `channel ${this.id} is closed`);
    return this.host.sendOnChannel(this.id, message, false);
  }

  /** Queue one message, waiting for buffer room when needed (backpressure, never unbounded memory). */
  async send(message: Uint8Array, signal?: AbortSignal): Promise<void> {
    while (!this.trySend(message)) await this.host.waitWritable(signal);
  }

  /** Close our half: the peer sees 'end' after our last message. */
  async close(): Promise<void> {
    if (this.closedLocal) return;
    while (!this.host.sendOnChannel(this.id, new Uint8Array(0), true)) await this.host.waitWritable();
    this.closedLocal = true;
    this.host.channelClosedLocally(this.id);
  }

  /**
   * @internal called by the session for each delivered message. Early data (0-RTT, draft §9) is
   * delivered with `EARLY` as the listener's second argument: it may be a replay, so the application
   * decides what it may do with it (the HIL admits only idempotent requests).
   */
  deliver(message: Uint8Array, remoteClosed: boolean, early = false): void {
    // An empty message carrying the close flag only signals the end of the peer's half.
    if (message.length > 0 || !remoteClosed) this.emit('message', message, early ? EARLY : undefined);
    if (remoteClosed && !this.closedRemote) {
      this.closedRemote = true;
      this.emit('end');
    }
  }

  /** Async iteration over incoming messages until the peer closes its half or the session ends. */
  async *messages(): AsyncGenerator<Uint8Array> {
    const queue: Uint8Array[] = [];
    let done = this.ended;
    let wake: (() => void) | undefined;
    const onMsg = (m: Uint8Array): void => {
      queue.push(m);
      wake?.();
    };
    const onEnd = (): void => {
      done = true;
      wake?.();
    };
    this.on('message', onMsg);
    this.on('end', onEnd);
    this.on('abort', onEnd);
    try {
      for (;;) {
        const m = queue.shift();
        if (m !== undefined) {
          yield m;
          continue;
        }
        if (done) return;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    } finally {
      this.off('message', onMsg);
      this.off('end', onEnd);
      this.off('abort', onEnd);
    }
  }
}
