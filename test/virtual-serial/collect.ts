// Records what arrives on a byte duplex, with arrival times, and waits for it without sleeping:
// every wait is "until N bytes / a pattern arrived", bounded by a generous timeout that only turns
// a hang into a failure (it never decides pass or fail on speed).

import { listen, type ByteDuplex } from '../../src/sim/duplex.js';

export interface Arrival {
  /** performance.now() when the chunk arrived. */
  readonly at: number;
  readonly bytes: Uint8Array;
}

export class Collector {
  readonly arrivals: Arrival[] = [];
  private waiters: (() => void)[] = [];
  private readonly stop: () => void;

  constructor(d: ByteDuplex) {
    this.stop = listen(d, (c) => {
      this.arrivals.push({ at: performance.now(), bytes: c.slice() });
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Every byte received so far, concatenated. */
  get bytes(): Uint8Array {
    return Buffer.concat(this.arrivals.map((a) => a.bytes));
  }
  get length(): number {
    return this.arrivals.reduce((n, a) => n + a.bytes.length, 0);
  }
  get text(): string {
    return Buffer.from(this.bytes).toString('latin1');
  }

  clear(): void {
    this.arrivals.length = 0;
  }

  /** Resolves once `pred` holds; rejects after `timeoutMs` (a hang guard, not a timing assertion). */
  until(pred: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`timed out waiting for ${what}; have ${this.length} bytes: ${Buffer.from(this.bytes.subarray(0, 64)).toString('hex')}`));
      }, timeoutMs);
      const check = (): void => {
        if (pred()) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      check();
    });
  }

  /** Waits for at least `n` bytes in total. */
  bytesAtLeast(n: number, timeoutMs?: number): Promise<void> {
    return this.until(() => this.length >= n, timeoutMs, `${n} bytes`);
  }

  /** Waits until the received text contains `s`. */
  textIncludes(s: string, timeoutMs?: number): Promise<void> {
    return this.until(() => this.text.includes(s), timeoutMs, JSON.stringify(s));
  }

  close(): void {
    this.stop();
  }
}
