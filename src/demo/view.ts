// What the demo prints, three ways:
//   --json        exactly three kinds of JSON line, so scripts can rely on them —
//                   {"event":"process","role":"rn|gateway|operator","pid":N,...}   one per process started
//                   {"event":"reading","slot":…,"device":…,"kind":"modbus|serial|mqtt","seq":N,"value":…}
//                   {"event":"summary",…}                                          last line
//   a terminal    live-view.ts: one line per slot updated in place, events below it
//   otherwise     (a pipe, a file, a CI log) one line per reading and per event, then the summary
// Events are what a person watching wants to know besides readings: starts (with pids), operators
// connecting, refusals, warnings and errors from the children, and the stop.

import type { Role } from '../hil-runner/children.js';
import { LiveView, type TtyLike } from './live-view.js';
import { describeValue, eventLine, seconds, summaryLines, type DemoReading, type DemoView, type EventKind, type Summary, type ViewSlot } from './view-model.js';

export type { DemoReading, EventKind, Summary } from './view-model.js';

/**
 * --json -> JSON lines; a terminal (and not TERM=dumb, which cannot move the cursor) -> the live
 * view; anything else -> plain lines.
 */
export function createView(out: NodeJS.WritableStream, json: boolean, slots: readonly ViewSlot[]): DemoView {
  if (json) return new JsonView(out);
  const tty = out as TtyLike & { isTTY?: boolean };
  if (tty.isTTY === true && process.env.TERM !== 'dumb') return new LiveView(tty, slots);
  return new LineView(out);
}

class JsonView implements DemoView {
  constructor(private readonly out: NodeJS.WritableStream) {}

  event(): void {}

  process(role: Role, pid: number, label: string): void {
    this.line({ event: 'process', role, pid, label });
  }

  reading(r: DemoReading): void {
    this.line({ event: 'reading', slot: r.slot, device: r.device, kind: r.kind, seq: r.seq, ...(r.ts !== undefined ? { ts: r.ts } : {}), value: r.value });
  }

  summary(s: Summary): void {
    this.line(s);
  }

  private line(v: unknown): void {
    this.out.write(JSON.stringify(v) + '\n');
  }
}

/** Not a terminal: today's line-per-reading log, events as `[demo 1.2s] …` lines. */
class LineView implements DemoView {
  private readonly t0 = performance.now();

  constructor(private readonly out: NodeJS.WritableStream) {}

  event(kind: EventKind, text: string): void {
    this.line(eventLine(kind, text, performance.now() - this.t0));
  }

  process(role: Role, pid: number, label: string): void {
    this.event('info', `started ${label} (pid ${pid})`);
  }

  reading(r: DemoReading): void {
    const t = seconds(performance.now() - this.t0);
    this.line(`  ${t.padStart(6)}  ${r.slot.padEnd(8)} ${r.device.padEnd(9)} ${r.kind.padEnd(6)} #${String(r.seq).padEnd(4)} ${describeValue(r)}`);
  }

  summary(s: Summary): void {
    for (const l of summaryLines(s)) this.line(l);
  }

  private line(s: string): void {
    this.out.write(s + '\n');
  }
}
