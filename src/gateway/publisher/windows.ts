// The publisher's windows in flight (OI §11.3 push, §11.5 receipts): each window is a run of log
// rows (by row id) sent as one `readings` message; a window is done when a receipt signed by the
// collector covers every reading in it. The cursor moves only over a prefix of done windows, so
// "the gateway deletes only what receipts cover" holds even when receipts come out of order or
// not at all (a window never receipted is sent again on the next session). The rows a window
// passed over (outside the collector's consent) go with it, so the log does not take the cursor
// for a receipt of them (receipt-cursors.ts).

import type { WireReading } from '../../hil/publish-messages.js';
import { covers, type ReceiptRange } from '../../hil/publish-ranges.js';
import type { Clock } from '../../lib/clock.js';

interface Window {
  readonly w: number;
  /** Highest row id in the window (out-of-scope rows included: they are passed over, not sent). */
  readonly lastId: number;
  readonly rows: readonly WireReading[];
  /** Slots it passed over (out of scope), each with the row id before its first reading passed over. */
  readonly passed: ReadonlyMap<string, number>;
  /** When it was opened (the clock's ms). */
  readonly at: number;
  done: boolean;
}

/** Windows done in a row: the row ids (from, upTo] they span, and the slots they passed over. */
export interface Done {
  readonly from: number;
  readonly upTo: number;
  readonly passed: ReadonlyMap<string, number>;
}

export class Windows {
  private readonly queue: Window[] = [];
  private nextW = 1;
  /** The last row id of the done prefix (the session's starting point until a window is done). */
  private doneUpTo = 0;
  /** When a receipt last completed a window (the clock's ms). */
  private lastDoneAt = -Infinity;

  constructor(private readonly clock: Clock) {}

  /**
   * Windows sent and not yet behind the cursor: those waiting for a receipt, and the receipted ones
   * still queued behind one that waits (they hold their rows until the cursor passes them). Counting
   * only the waiting ones let a collector that receipted all but the first window draw the whole
   * backlog into memory.
   */
  get inFlight(): number {
    return this.queue.length;
  }

  /** The session sends the rows after `id`: the first window starts there. */
  startAfter(id: number): void {
    this.doneUpTo = id;
  }

  /** Opens a window over rows up to `lastId`; an empty one (nothing to send) is done at once. */
  open(lastId: number, rows: readonly WireReading[], passed: ReadonlyMap<string, number>): number {
    const w = this.nextW++;
    this.queue.push({ w, lastId, rows, passed, at: this.clock.now(), done: rows.length === 0 });
    return w;
  }

  /**
   * Since when the collector has shown no progress while a window waits for its receipt (undefined:
   * none waits): the later of the oldest waiting window's opening and the last receipt that
   * completed a window. Not the opening alone: on a slow uplink the windows in flight (up to
   * MAX_IN_FLIGHT, 4 MiB) take longer than RECEIPT_TIMEOUT_MS to cross, so the last of them waited
   * out the timeout behind the others while receipts came in steadily, and every session ended in
   * RECEIPT_TIMEOUT and sent its windows again.
   */
  waitingSince(): number | undefined {
    const at = this.queue.find((x) => !x.done)?.at;
    return at === undefined ? undefined : Math.max(at, this.lastDoneAt);
  }

  /**
   * Marks window `w` done when `ranges` cover every reading in it. Returns the windows the cursor
   * may move over (the done prefix), or undefined when it does not move.
   * 'uncovered': the receipt does not cover the window (ignored: nothing is deleted).
   */
  receipt(w: number, ranges: readonly ReceiptRange[]): Done | undefined | 'uncovered' {
    const win = this.queue.find((x) => x.w === w);
    if (win === undefined) return undefined; // a window of an earlier session, or already done
    if (!covers(ranges, win.rows)) return 'uncovered';
    win.done = true;
    this.lastDoneAt = this.clock.now();
    return this.advance();
  }

  /** Pops the done prefix; returns what it spans, if any window was done. */
  advance(): Done | undefined {
    const from = this.doneUpTo;
    const passed = new Map<string, number>();
    while (this.queue.length > 0 && this.queue[0]!.done) {
      const win = this.queue.shift()!;
      this.doneUpTo = win.lastId;
      for (const [slot, id] of win.passed) if (!passed.has(slot)) passed.set(slot, id);
    }
    return this.doneUpTo === from ? undefined : { from, upTo: this.doneUpTo, passed };
  }
}
