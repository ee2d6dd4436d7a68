// A logical channel: one duplex stream of messages inside a session. Messages arrive exactly once
// and in order (the block layer guarantees it). send() waits for buffer room instead of growing
// memory; trySend() never waits.

import { EventEmitter } from 'node:events';
import { ErrorCode } from '../errors.js';
import { CommonCode, StateError } from '../../lib/errors.js';
import { Ring } from '../../lib/ring.js';

/** What a channel needs from its session (kept narrow so channels are testable alone). */
export interface ChannelHost {
  sendOnChannel(id: number, message: Uint8Array, close: boolean): boolean;
  waitWritable(signal?: AbortSignal): Promise<void>;
  channelClosedLocally(id: number): void;
}

/** The second argument of a 'message' listener for a message that came as early data (0-RTT). */
export const EARLY = Object.freeze({ early: true as const });

/**
 * What messages() holds for a consumer that has not caught up, in bytes and in messages (empty ones
 * cost no bytes). The peer's sending is paced by delivery, not by this consumer, so without a
 * bound a slow loop would let the peer grow our memory; beyond it the iteration fails with
 * BUFFER_FULL after the messages it holds.
 */
export const MESSAGES_HELD_MAX_BYTES = 4 * 1024 * 1024;
export const MESSAGES_HELD_MAX = 65_536;

type Listener = (...args: any[]) => void;

export class Channel extends EventEmitter {
  private closedLocal = false;
  private closedRemote = false;
  private aborted = false;
  /**
   * The 'message' listeners as rawListeners() returns them, made again after any listener is added
   * or removed. deliver() calls a sole listener directly: emit()'s rest arguments, apply() and its
   * megamorphic lookup of the event were a tenth of a receiver of 64-byte messages (perf).
   */
  private messageListeners: Listener[] | undefined;

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
    if (message.length > 0 || !remoteClosed) {
      const ls = (this.messageListeners ??= this.rawListeners('message') as Listener[]);
      // A once() listener is its wrapper here: calling it removes the listener, as emit() would.
      if (ls.length === 1 && !early) ls[0]!.call(this, message);
      // Two calls rather than one with an undefined argument: emit's rest array is one element shorter.
      else if (early) this.emit('message', message, EARLY);
      else this.emit('message', message);
    }
    if (remoteClosed && !this.closedRemote) {
      this.closedRemote = true;
      this.emit('end');
    }
  }

  // Every way a listener is added or removed drops the cached 'message' listeners (once() and the
  // static events.once() / events.on() come through on() and removeListener()).
  override addListener(event: string | symbol, listener: Listener): this {
    this.messageListeners = undefined;
    return super.addListener(event, listener);
  }
  override on(event: string | symbol, listener: Listener): this {
    this.messageListeners = undefined;
    return super.on(event, listener);
  }
  override once(event: string | symbol, listener: Listener): this {
    this.messageListeners = undefined;
    return super.once(event, listener);
  }
  override prependListener(event: string | symbol, listener: Listener): this {
    this.messageListeners = undefined;
    return super.prependListener(event, listener);
  }
  override prependOnceListener(event: string | symbol, listener: Listener): this {
    this.messageListeners = undefined;
    return super.prependOnceListener(event, listener);
  }
  override removeListener(event: string | symbol, listener: Listener): this {
    this.messageListeners = undefined;
    return super.removeListener(event, listener);
  }
  override off(event: string | symbol, listener: Listener): this {
    this.messageListeners = undefined;
    return super.off(event, listener);
  }
  // Rest arguments: emitter.removeAllListeners() with no argument removes every event's listeners,
  // but with an explicit `undefined` it removes none.
  override removeAllListeners(...event: [event?: string | symbol]): this {
    this.messageListeners = undefined;
    return super.removeAllListeners(...event);
  }

  /**
   * Async iteration over incoming messages until the peer closes its half or the session ends.
   * Holds at most MESSAGES_HELD_MAX_BYTES (one message always) and MESSAGES_HELD_MAX messages for
   * a loop that has not caught up; beyond that it yields what it holds, then throws StateError
   * BUFFER_FULL, and the messages after it are not kept (a 'message' listener sees them all).
   */
  async *messages(): AsyncGenerator<Uint8Array> {
    const queue = new Ring<Uint8Array>();
    let held = 0;
    let done = this.ended;
    let overflow: StateError | undefined;
    let wake: (() => void) | undefined;
    const onMsg = (m: Uint8Array): void => {
      const n = queue.length;
      if (n > 0 && (held + m.length > MESSAGES_HELD_MAX_BYTES || n >= MESSAGES_HELD_MAX)) {
        overflow = new StateError(
          CommonCode.BUFFER_FULL,
          `channel ${this.id}: messages() fell ${n} messages (${held} bytes) behind, more than it holds (${MESSAGES_HELD_MAX} messages, ${MESSAGES_HELD_MAX_BYTES} bytes); read faster, or take the 'message' event`,
        );
        done = true;
        this.off('message', onMsg);
        wake?.();
        return;
      }
      queue.push(m);
      held += m.length;
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
          held -= m.length;
          yield m;
          continue;
        }
        if (overflow !== undefined) throw overflow;
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
