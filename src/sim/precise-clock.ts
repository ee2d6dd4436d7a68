// A Clock for simulated equipment whose timing must be finer than Node's timers. Node (libuv) runs
// timers on whole milliseconds, so a 1.75 ms wait (Modbus t3.5 above 19200 baud) ends anywhere
// from 2 to 3 ms later, and a paced 115200 line delivers its bytes up to a millisecond late. Real
// UARTs and slaves are not that coarse, and a bench of the gateway's master should measure the
// master, not the simulator's timers. For a simulator in its own process (bench/lib/sim-host.mjs),
// never for the gateway, whose master keeps whole-millisecond timers (docs/BENCH.md).
//
// How: one helper thread sleeps in Atomics.wait (a futex with sub-millisecond timeouts) until
// EARLY_MS before the earliest deadline, then posts a message; the main thread checks on each
// event-loop turn from then on and fires every wait that is due. Measured
// on the 2-core bench box, four 19200-baud lines' worth of 0.57 ms waits: the first version, which
// spun the event loop (setImmediate) for the last 1.5 ms of every wait, held a whole core (104% CPU)
// and ended waits 0.001 ms late at the median; this one takes 14% and ends them 0.09 ms late (p99
// 0.18 ms). Four simulator processes spinning took two thirds of the box from the gateway they
// were meant to measure (docs/BENCH.md "16 slots").
//
// Waits that are due fire in deadline order, whichever wake-up notices them, and never before their
// deadline: a device must see its earlier wait end first, and a t3.5 silence must be a real one.

import { Worker } from 'node:worker_threads';
import type { Clock } from '../lib/clock.js';

interface Wait {
  readonly due: number;
  readonly fn: () => void;
  done: boolean;
}

/**
 * The helper wakes this much before a deadline and the main thread checks on every event-loop turn
 * for the rest: a message from the helper arrives ~0.09 ms after the wake at the median, so without
 * it every wait ended that late, which is 4-5% of a 115200 transaction (several waits on its path).
 */
const EARLY_MS = 0.1;

/** Pending waits, ordered by deadline (absolute ms); equal deadlines keep the order they were asked in. */
const pending: Wait[] = [];

/**
 * The helper thread: sleeps until `due[0]` (absolute ms: performance.timeOrigin + now, the one
 * time base both threads share), then says so once; woken early whenever the main thread bumps
 * `ctrl[0]` after changing the deadline.
 */
const SLEEPER = `
const { parentPort, workerData } = require('node:worker_threads');
const ctrl = new Int32Array(workerData, 0, 1);
const due = new Float64Array(workerData, 8, 1);
for (;;) {
  const gen = Atomics.load(ctrl, 0);
  const d = due[0];
  if (!(d < Infinity)) { Atomics.wait(ctrl, 0, gen); continue; }
  const left = d - (performance.timeOrigin + performance.now());
  if (left <= 0) { due[0] = Infinity; parentPort.postMessage(0); continue; }
  Atomics.wait(ctrl, 0, gen, left);
}`;

let shared: { ctrl: Int32Array; due: Float64Array } | undefined;

const abs = (): number => performance.timeOrigin + performance.now();

/** Started at the first wait; unref'd, so it never keeps a process alive. */
function sleeper(): { ctrl: Int32Array; due: Float64Array } {
  if (shared !== undefined) return shared;
  const sab = new SharedArrayBuffer(16);
  shared = { ctrl: new Int32Array(sab, 0, 1), due: new Float64Array(sab, 8, 1) };
  shared.due[0] = Infinity;
  const w = new Worker(SLEEPER, { eval: true, workerData: sab });
  w.on('message', fireDue);
  w.unref();
  return shared;
}

/** Points the helper at the earliest pending deadline (or at none). */
function arm(): void {
  const s = sleeper();
  const next = pending.length > 0 ? pending[0]!.due - EARLY_MS : Infinity;
  if (s.due[0] === next) return;
  s.due[0] = next;
  Atomics.add(s.ctrl, 0, 1);
  Atomics.notify(s.ctrl, 0);
}

function insert(w: Wait): void {
  let i = pending.length;
  while (i > 0 && pending[i - 1]!.due > w.due) i -= 1;
  pending.splice(i, 0, w);
}

/** Fires every wait whose deadline has passed, earliest first, then re-arms for the next. */
function fireDue(): void {
  const now = abs();
  while (pending.length > 0 && pending[0]!.due <= now) {
    const w = pending.shift()!;
    w.done = true;
    w.fn();
  }
  // Woken (up to EARLY_MS) before the next deadline: check again on the next turns until it is due.
  if (pending.length > 0 && pending[0]!.due - now <= EARLY_MS) {
    if (!spinning) {
      spinning = true;
      setImmediate(spin);
    }
    return;
  }
  arm();
}

let spinning = false;
function spin(): void {
  spinning = false;
  fireDue();
}

export const preciseClock: Clock = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const w: Wait = { due: abs() + Math.max(0, ms), fn, done: false };
    insert(w);
    if (pending[0] === w) arm();
    return () => {
      if (w.done) return;
      w.done = true;
      const i = pending.indexOf(w);
      if (i >= 0) pending.splice(i, 1);
      if (i === 0) arm();
    };
  },
};
