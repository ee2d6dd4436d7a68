// The demo's view on a terminal: one line per slot, rewritten in place (readings so far, age of
// the last one, its value), with the events (starts, connections, refusals, errors, the stop)
// printed below the slot lines as they happen; the summary follows when the run ends.
//
// Cursor movement is relative (up N, down N, erase line), so the view needs no knowledge of the
// screen beyond its size and works in any VT100-compatible terminal. Every line is kept shorter
// than the terminal is wide, so none wraps and the row arithmetic stays exact. When the events
// below would push the slot lines off the top of the screen, the slot lines are drawn again under
// the last event (the old copy scrolls away), so they are always on screen.

import type { Role } from '../hil-runner/children.js';
import { printable } from '../lib/terminal-text.js';
import { describeValue, eventLine, seconds, summaryLines, type DemoReading, type DemoView, type EventKind, type Summary, type ViewSlot } from './view-model.js';

/** A terminal stream as far as the view needs one (process.stdout on a TTY). */
export interface TtyLike extends NodeJS.WritableStream {
  readonly columns?: number;
  readonly rows?: number;
}

const ESC = '\x1b[';
const ERASE_LINE = `${ESC}2K`;
/** Readings arrive several times a second; a redraw every 100 ms at most keeps the terminal calm. */
const REDRAW_MIN_MS = 100;
/** Ages tick on screen even while a slot is silent (that is when they matter). */
const AGE_TICK_MS = 1000;
/** A terminal that does not report its size (a pty nobody sized) is taken to be 80x24. */
const DEFAULT_COLUMNS = 80;
const DEFAULT_ROWS = 24;

interface SlotRow extends ViewSlot {
  count: number;
  last?: string;
  at?: number;
}

export class LiveView implements DemoView {
  private readonly t0: number;
  private readonly slots: SlotRow[];
  /** Whether the slot lines are on screen, and how many terminal rows were written below them. */
  private drawn = false;
  private below = 0;
  private lastDraw = -Infinity;
  private pending: NodeJS.Timeout | undefined;
  private readonly ticker: NodeJS.Timeout;
  private finished = false;
  private readonly onResize = (): void => this.anchor();

  constructor(
    private readonly out: TtyLike,
    slots: readonly ViewSlot[],
    private readonly now: () => number = () => performance.now(),
  ) {
    this.t0 = now();
    this.slots = slots.map((s) => ({ slot: s.slot, device: s.device, kind: s.kind, count: 0 }));
    this.ticker = setInterval(() => this.redraw(), AGE_TICK_MS);
    // The view never keeps the demo alive; the run's own waits do.
    this.ticker.unref();
    // After a resize the old lines may have re-wrapped, so relative moves could land anywhere.
    out.on('resize', this.onResize);
  }

  event(kind: EventKind, text: string): void {
    if (!this.drawn) this.anchor();
    const rows = wrap(eventLine(kind, text, this.now() - this.t0), this.width());
    this.out.write(rows.map((r) => `\r${ERASE_LINE}${r}\n`).join(''));
    this.below += rows.length;
    if (this.below + this.slots.length > this.height() - 1) this.anchor();
  }

  process(role: Role, pid: number, label: string): void {
    this.event('info', `started ${label} (pid ${pid})`);
  }

  reading(r: DemoReading): void {
    const row = this.slots.find((s) => s.slot === r.slot);
    if (row === undefined) return;
    row.count++;
    row.last = describeValue(r);
    row.at = this.now();
    const since = this.now() - this.lastDraw;
    if (since >= REDRAW_MIN_MS) this.redraw();
    else this.pending ??= setTimeout(() => this.redraw(), REDRAW_MIN_MS - since);
  }

  summary(s: Summary): void {
    this.redraw();
    this.finished = true;
    clearInterval(this.ticker);
    clearTimeout(this.pending);
    this.out.off('resize', this.onResize);
    const w = this.width();
    this.out.write(summaryLines(s).flatMap((l) => wrap(l, w)).map((r) => `\r${ERASE_LINE}${r}\n`).join(''));
  }

  /** Rewrites the slot lines where they are and puts the cursor back under the last event. */
  private redraw(): void {
    if (this.finished) return;
    clearTimeout(this.pending);
    this.pending = undefined;
    this.lastDraw = this.now();
    if (!this.drawn) return this.anchor();
    const w = this.width();
    let s = `${ESC}${this.below + this.slots.length}A`;
    for (const row of this.slots) s += `\r${ERASE_LINE}${clip(slotLine(row, this.lastDraw), w)}\n`;
    if (this.below > 0) s += `${ESC}${this.below}B`;
    this.out.write(s + '\r');
  }

  /** Draws the slot lines afresh at the cursor; events continue below them. */
  private anchor(): void {
    if (this.finished) return;
    const w = this.width();
    this.lastDraw = this.now();
    this.out.write(this.slots.map((row) => `\r${ERASE_LINE}${clip(slotLine(row, this.lastDraw), w)}\n`).join(''));
    this.drawn = true;
    this.below = 0;
  }

  /** Usable columns: one less than the terminal's, so no line ever reaches the last column and wraps. */
  private width(): number {
    return Math.max(20, this.out.columns || DEFAULT_COLUMNS) - 1;
  }

  private height(): number {
    return Math.max(this.slots.length + 2, this.out.rows || DEFAULT_ROWS);
  }
}

/** `  rs485-1  th-bus-1  modbus     42 readings    0.3s ago  unit 7 power = 1520 W` */
function slotLine(row: SlotRow, now: number): string {
  const head = `  ${row.slot.padEnd(8)} ${row.device.padEnd(9)} ${row.kind.padEnd(6)} ${String(row.count).padStart(6)} readings`;
  if (row.last === undefined || row.at === undefined) return `${head}  waiting for the first`;
  return `${head}  ${seconds(now - row.at).padStart(6)} ago  ${row.last}`;
}

/**
 * At most `width` characters (code points), terminal-safe: control characters (a device's line may
 * carry anything, escape sequences included) are shown as `·` so they can neither move the cursor
 * nor break the row count.
 */
function clip(s: string, width: number): string {
  const cps = [...printable(s)];
  return cps.length <= width ? cps.join('') : cps.slice(0, width).join('');
}

/** Each line of `s` cut into rows of at most `width` characters: nothing is lost, nothing wraps. */
function wrap(s: string, width: number): string[] {
  const rows: string[] = [];
  for (const line of s.split('\n')) {
    const cps = [...printable(line)];
    if (cps.length === 0) rows.push('');
    for (let i = 0; i < cps.length; i += width) rows.push(cps.slice(i, i + width).join(''));
  }
  return rows;
}
