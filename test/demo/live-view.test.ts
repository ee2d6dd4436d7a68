// The demo's terminal view in-process, its output read back through the terminal model
// (screen.ts): slot lines rewritten in place with events below, the slot lines kept on a small
// screen however many events follow, nothing a device sends reaching the terminal as control
// characters, long events wrapped rather than cut, refusals marked, bytes (tail's _hex keys)
// shown as hex and marked, never like text. The same view on a real pty
// is checked end to end in ctrl-c.test.ts.

import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { LiveView } from '../../src/demo/live-view.js';
import type { DemoReading, Summary } from '../../src/demo/view.js';
import { describeValue } from '../../src/demo/view-model.js';
import { renderScreen, slotLines } from './screen.js';

const SLOTS = [
  { slot: 'rs485-1', device: 'th-bus-1', kind: 'modbus' as const },
  { slot: 'tty-1', device: 'sensor-7', kind: 'serial' as const },
  { slot: 'net-1', device: 'press-2', kind: 'mqtt' as const },
];

/** A terminal-sized sink: what the view writes, in order. */
class Terminal extends Writable {
  raw = '';
  constructor(
    readonly columns: number,
    readonly rows: number,
  ) {
    super({ decodeStrings: false });
  }
  override _write(chunk: string, _enc: BufferEncoding, cb: () => void): void {
    this.raw += chunk;
    cb();
  }
  screen() {
    return renderScreen(this.raw, this.columns, this.rows);
  }
}

const views: LiveView[] = [];
afterEach(() => {
  // summary() stops the view's timers.
  for (const v of views.splice(0)) v.summary(summaryOf({}));
});

function viewOn(t: Terminal, clock: { now: number }): LiveView {
  const v = new LiveView(t, SLOTS, () => clock.now);
  views.push(v);
  return v;
}

function summaryOf(readings: Record<string, number>): Summary {
  return {
    event: 'summary',
    ok: true,
    exit_code: 0,
    readings,
    slots: SLOTS.map((s) => ({ ...s, readings: readings[s.slot] ?? 0 })),
    missing: [],
    defaults: { serial: 'socat', mqtt: 'mosquitto', reasons: [] },
    processes: [],
    tools: [],
    seconds: 15,
    node: process.version,
    duration_ms: 1000,
    interrupted: false,
  };
}

const modbus = (seq: number, value: number): DemoReading => ({ slot: 'rs485-1', device: 'th-bus-1', kind: 'modbus', seq, value: { unit: 7, name: 'power', value, eng_unit: 'W' } });
const serial = (seq: number, line: string): DemoReading => ({ slot: 'tty-1', device: 'sensor-7', kind: 'serial', seq, value: { line } });

describe('demo live view (terminal)', () => {
  it('one line per slot, rewritten in place with count, age and last value; events below; summary after', () => {
    const t = new Terminal(120, 30);
    const clock = { now: 0 };
    const v = viewOn(t, clock);
    v.event('info', 'throwaway trust domain in /tmp/x');
    v.process('rn', 101, 'rn');
    for (let i = 0; i < 25; i++) {
      clock.now += 200; // past the redraw interval: every reading redraws
      v.reading(modbus(i, 1500 + i));
    }
    clock.now += 200;
    v.reading(serial(0, 'T=21.4;H=40'));
    v.event('refused', 'gateway refused open.modbus on rs485-1 (PURPOSE_NOT_GRANTED: modbus needs modbus.read)');
    clock.now += 2000;
    v.summary(summaryOf({ 'rs485-1': 25, 'tty-1': 1, 'net-1': 0 }));

    const screen = t.screen();
    const slots = slotLines(screen.lines);
    // Exactly one line per slot although 26 readings were drawn, at the top, in slot order.
    expect(slots.map((s) => [s.slot, s.count, s.index])).toEqual([
      ['rs485-1', 25, 0],
      ['tty-1', 1, 1],
      ['net-1', 0, 2],
    ]);
    expect(slots[0]).toMatchObject({ age: 2.2, last: 'unit 7 power = 1524 W' });
    expect(slots[1]).toMatchObject({ age: 2, last: '"T=21.4;H=40"' });
    expect(screen.lines[2]).toMatch(/net-1 .* 0 readings {2}waiting for the first$/);
    // Events below the slot lines, in order, the refusal marked; the summary last.
    expect(screen.lines.slice(3, 6)).toEqual([
      '[demo 0.0s] throwaway trust domain in /tmp/x',
      '[demo 0.0s] started rn (pid 101)',
      '[demo 5.2s] REFUSED: gateway refused open.modbus on rs485-1 (PURPOSE_NOT_GRANTED: modbus needs modbus.read)',
    ]);
    expect(screen.lines.slice(6)).toContain('  rs485-1  th-bus-1  modbus 25 readings');
    expect(screen.lines.at(-1)).toBe('  every slot delivered readings: exit 0');
  });

  it('a burst of readings is drawn once, by the redraw timer, with the last reading on screen', async () => {
    const t = new Terminal(100, 30);
    const v = new LiveView(t, SLOTS); // real clock and timers
    views.push(v);
    v.event('info', 'start'); // draws the slot lines: a redraw within 100 ms waits for the timer
    const before = t.raw.length;
    for (let i = 0; i < 50; i++) v.reading(modbus(i, i));
    expect(t.raw.length).toBe(before);
    // The 100 ms redraw timer was set before this 250 ms one, so it has fired when this resolves.
    await new Promise((r) => setTimeout(r, 250));
    expect(t.raw.slice(before).match(/\x1b\[\d+A/g)).toHaveLength(1);
    expect(slotLines(t.screen().lines)[0]).toMatchObject({ count: 50, last: 'unit 7 power = 49 W' });
  });

  it('on a short screen the slot lines stay visible however many events follow', () => {
    const t = new Terminal(80, 10);
    const clock = { now: 0 };
    const v = viewOn(t, clock);
    for (let i = 0; i < 40; i++) {
      clock.now += 200;
      v.event('info', `event ${i}`);
      clock.now += 200; // the event may have redrawn: the reading is past the redraw interval again
      v.reading(modbus(i, i));
      const visible = slotLines(t.screen().visible);
      // Every slot is on screen, and the lowest copy (the live one) shows the current count.
      for (const s of SLOTS) expect(visible.filter((l) => l.slot === s.slot).at(-1), `after event ${i}`).toBeDefined();
      expect(visible.filter((l) => l.slot === 'rs485-1').at(-1)!.count).toBe(i + 1);
    }
    // Nothing was lost: every event is in the scrollback, in order.
    const events = t.screen().lines.filter((l) => /^\[demo .*\] event \d+$/.test(l));
    expect(events.map((l) => Number(/event (\d+)/.exec(l)![1]))).toEqual([...Array(40).keys()]);
  });

  it('control characters from equipment never reach the terminal; long lines are cut to the width, long events wrapped', () => {
    const t = new Terminal(100, 30);
    const clock = { now: 0 };
    const v = viewOn(t, clock);
    clock.now = 500;
    // An MQTT payload is shown as sent (a serial line is JSON-quoted, which escapes controls already).
    v.reading({ slot: 'net-1', device: 'press-2', kind: 'mqtt', seq: 0, value: { topic: 'plant/press-2/telemetry/x', payload: 'a\x1b[2J\x1b[H\x07b and a tail too long for one line of the terminal, which the view cuts to its width' } });
    const long = `operator tty-1: ${'x'.repeat(300)} [HIL_REFUSED]`;
    v.event('refused', long);
    v.event('error', 'gateway: bad\x1b[31m red');
    v.summary(summaryOf({ 'net-1': 1 }));

    // The view's own escapes only: cursor up/down and erase line.
    expect(t.raw.match(/\x1b\[[0-9;?]*[A-Za-z]/g)!.every((e) => /^\x1b\[\d*[AB]$|^\x1b\[2K$/.test(e))).toBe(true);
    expect(t.raw).not.toMatch(/[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]/);
    const screen = t.screen();
    expect(screen.widest).toBe(99);
    const net = slotLines(screen.lines).find((s) => s.slot === 'net-1')!;
    expect(net.last!.startsWith('plant/press-2/telemetry/x a·[2J·[H·b and a')).toBe(true);
    expect(screen.lines).toContain('[demo 0.5s] ERROR: gateway: bad·[31m red');
    // The event is on consecutive rows, all of it.
    const start = screen.lines.findIndex((l) => l.includes('REFUSED: operator tty-1'));
    expect(screen.lines.slice(start, start + 4).join('')).toBe(`[demo 0.5s] REFUSED: ${long}`);
    expect(screen.lines[start + 4]).toMatch(/^\[demo 0\.5s\] ERROR/);
  });

  it('a reading\'s bytes (payload_hex, bytes_hex in tail\'s lines) are shown as marked hex, not like text that looks like hex', () => {
    const mqtt = (value: Record<string, unknown>): string => describeValue({ slot: 'net-1', device: 'press-2', kind: 'mqtt', seq: 0, value });
    expect(mqtt({ topic: 'a/text', payload: 'deadbeef' })).toBe('a/text deadbeef');
    expect(mqtt({ topic: 'a/bytes', payload_hex: 'deadbeef' })).toBe('a/bytes (hex) deadbeef');
    expect(describeValue({ slot: 'tty-1', device: 'raw-1', kind: 'serial', seq: 0, value: { bytes_hex: '4100' } })).toBe('(hex) 4100');
  });
});
