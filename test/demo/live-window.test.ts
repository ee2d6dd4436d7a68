// The demo's --seconds window (src/demo/live-window.ts): it starts once every slot has delivered its
// first reading, lasts --seconds, and the wait for first readings is bounded (then it starts anyway,
// naming the silent slots). On a fake clock.

import { describe, expect, it } from 'vitest';
import { LiveWindow } from '../../src/demo/live-window.js';
import { FakeClock } from '../helpers/fake-clock.js';

function setup() {
  const clock = new FakeClock(0);
  const events: string[] = [];
  const w = new LiveWindow({
    clock,
    slots: ['rs485-1', 'tty-1', 'net-1'],
    windowMs: 3_000,
    firstReadingsMs: 20_000,
    onStart: (silent) => events.push(`start@${clock.now()} silent=[${silent.join(',')}]`),
    onEnd: () => events.push(`end@${clock.now()}`),
  });
  return { clock, events, w };
}

describe('LiveWindow', () => {
  it('starts at the last slot\'s first reading and ends --seconds later, whatever the readings after', () => {
    const { clock, events, w } = setup();
    w.arm();
    clock.advance(1_000);
    w.reading('rs485-1');
    w.reading('rs485-1');
    clock.advance(2_500);
    w.reading('tty-1');
    clock.advance(4_000);
    expect(events).toEqual([]);
    w.reading('net-1');
    for (let i = 0; i < 10; i++) {
      clock.advance(250);
      w.reading('net-1');
      w.reading('rs485-1');
    }
    clock.advance(500);
    expect(events).toEqual(['start@7500 silent=[]', 'end@10500']);
    clock.advance(60_000);
    expect(events).toHaveLength(2);
  });

  it('readings before arm() count: every slot delivered already, the window starts at arm()', () => {
    const { clock, events, w } = setup();
    for (const s of ['rs485-1', 'tty-1', 'net-1']) w.reading(s);
    clock.advance(700);
    expect(events).toEqual([]);
    w.arm();
    clock.advance(3_000);
    expect(events).toEqual(['start@700 silent=[]', 'end@3700']);
  });

  it('a slot that stays silent: the window starts anyway after the bound, naming it, once', () => {
    const { clock, events, w } = setup();
    w.arm();
    w.reading('rs485-1');
    w.reading('tty-1');
    w.reading('other-slot');
    clock.advance(19_999);
    expect(events).toEqual([]);
    clock.advance(1);
    expect(events).toEqual(['start@20000 silent=[net-1]']);
    w.reading('net-1');
    clock.advance(3_000);
    expect(events).toEqual(['start@20000 silent=[net-1]', 'end@23000']);
    clock.advance(100_000);
    expect(events).toHaveLength(2);
  });

  it('close() (Ctrl-C, an error) stops every timer', () => {
    const { clock, events, w } = setup();
    w.arm();
    w.close();
    for (const s of ['rs485-1', 'tty-1', 'net-1']) w.reading(s);
    clock.advance(100_000);
    expect(events).toEqual([]);
    const b = setup();
    b.w.arm();
    for (const s of ['rs485-1', 'tty-1', 'net-1']) b.w.reading(s);
    b.w.close();
    b.clock.advance(100_000);
    expect(b.events).toEqual(['start@0 silent=[]']);
  });
});
