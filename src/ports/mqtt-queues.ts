// The two bounded queues of the MQTT port, pure so they can be tested without a broker.
//
// PublishWindow: at most `window` publishes awaited at once (FIELD-NOTES: mqtt.js piles up a
// `drain` listener per callback-style publish in a burst; windows of awaited publishAsync avoid
// it), at most `queueMax` more waiting for a slot; beyond that publish is refused at once with
// BUFFER_FULL, counted. Nothing grows without bound while the broker is away.
//
// ReceiveQueue: messages held for a slow consumer; on overflow the oldest is dropped and counted
// (DERP's per-client queue does the same), so the newest readings survive a stall.

import { CommonCode, StateError } from '../lib/errors.js';

interface Waiting {
  readonly run: () => Promise<void>;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

export class PublishWindow {
  private inFlight = 0;
  private readonly waiting: Waiting[] = [];
  /** Publishes refused because the window and the queue were full. */
  refused = 0;

  constructor(
    readonly window: number,
    readonly queueMax: number,
  ) {}

  get active(): number {
    return this.inFlight;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `run` when a window slot is free; settles with it. */
  submit(run: () => Promise<void>): Promise<void> {
    if (this.inFlight < this.window) return this.start(run);
    if (this.waiting.length >= this.queueMax) {
      this.refused++;
      return Promise.reject(new StateError(CommonCode.BUFFER_FULL, `mqtt: ${this.inFlight} publishes in flight and ${this.waiting.length} queued (limit ${this.queueMax}); publish refused`));
    }
    return new Promise((resolve, reject) => this.waiting.push({ run, resolve, reject }));
  }

  /** Refuses everything still waiting (on close). */
  rejectWaiting(e: unknown): void {
    for (const w of this.waiting.splice(0)) w.reject(e);
  }

  private start(run: () => Promise<void>): Promise<void> {
    this.inFlight++;
    let p: Promise<void>;
    try {
      p = run();
    } catch (e) {
      p = Promise.reject(e);
    }
    return p.finally(() => {
      this.inFlight--;
      const next = this.waiting.shift();
      if (next) this.start(next.run).then(next.resolve, next.reject);
    });
  }
}

export class ReceiveQueue<T> {
  private readonly items: T[] = [];
  private readonly waiters: { resolve: (v: T) => void; reject: (e: unknown) => void }[] = [];
  private closedWith: unknown = null;
  /** Messages dropped (oldest first) because the consumer fell behind. */
  dropped = 0;

  constructor(readonly max: number) {}

  get length(): number {
    return this.items.length;
  }

  /** Adds `item`; returns true if an older item had to be dropped to make room. */
  push(item: T): boolean {
    if (this.closedWith !== null) return false;
    const w = this.waiters.shift();
    if (w) {
      w.resolve(item);
      return false;
    }
    this.items.push(item);
    if (this.items.length > this.max) {
      this.items.shift();
      this.dropped++;
      return true;
    }
    return false;
  }

  tryShift(): T | undefined {
    return this.items.shift();
  }

  /** The next item, waiting if none; rejects with the close error once closed and empty. */
  shift(): Promise<T> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    if (this.closedWith !== null) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  close(e: unknown): void {
    this.closedWith = e;
    for (const w of this.waiters.splice(0)) w.reject(e);
  }
}
