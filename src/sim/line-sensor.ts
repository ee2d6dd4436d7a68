// A line-oriented sensor (the kind behind the `serial-line` driver): it streams delimiter-framed
// readings such as `T=21.4;H=40\r\n` at an interval and answers text commands:
//   ID?        -> ID=<id>            READ?      -> one reading now
//   RATE=<ms>  -> OK (new interval)  STOP/START -> OK (pause / resume streaming)
//   anything else -> ERR unknown command
// Input lines end with \n (a trailing \r is ignored); output lines end with `delimiter`.

import { every, systemClock, type Clock } from '../lib/clock.js';
import { listen, type ByteDuplex } from './duplex.js';
import { CommonCode, LocalError } from '../lib/errors.js';

export interface LineSensorOptions {
  /** Answered to `ID?`. */
  readonly id: string;
  /** Streaming interval in ms (default 1000); 0 streams nothing until RATE= or READ?. */
  readonly intervalMs?: number;
  /** Output line ending (default CR LF). */
  readonly delimiter?: string;
  /** The reading text for sequence number `seq` at `nowMs` (default a drifting T and H). */
  readonly reading?: (seq: number, nowMs: number) => string;
  readonly clock?: Clock;
}

/** Longest command line kept; a longer one is discarded whole (bounded input, like a device's buffer). */
const MAX_COMMAND = 256;

export function defaultReading(_seq: number, nowMs: number): string {
  const t = 21.4 + 1.5 * Math.sin((2 * Math.PI * nowMs) / 60_000);
  const h = 40 + 5 * Math.sin((2 * Math.PI * nowMs) / 90_000);
  return `T=${t.toFixed(1)};H=${Math.round(h)}`;
}

export class LineSensor {
  /** Readings sent so far (also the next sequence number). */
  seq = 0;
  private input = '';
  private overflow = false;
  private stopTimer: () => void = () => {};
  private intervalMs: number;
  private readonly unlisten: () => void;
  private readonly clock: Clock;
  private readonly delimiter: string;
  private readonly reading: (seq: number, nowMs: number) => string;

  constructor(
    private readonly line: ByteDuplex,
    private readonly opts: LineSensorOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
    this.delimiter = opts.delimiter ?? '\r\n';
    this.reading = opts.reading ?? defaultReading;
    this.intervalMs = checkInterval(opts.intervalMs ?? 1000);
    this.unlisten = listen(line, (c) => this.onBytes(c));
    this.start();
  }

  close(): void {
    this.stopTimer();
    this.unlisten();
  }

  private start(): void {
    this.stopTimer();
    this.stopTimer = this.intervalMs > 0 ? every(this.clock, this.intervalMs, () => this.sendReading()) : () => {};
  }

  private send(text: string): void {
    this.line.write(Buffer.from(text + this.delimiter, 'latin1'));
  }

  private sendReading(): void {
    this.send(this.reading(this.seq++, this.clock.now()));
  }

  private onBytes(chunk: Uint8Array): void {
    for (const ch of Buffer.from(chunk).toString('latin1')) {
      if (ch !== '\n') {
        if (this.input.length < MAX_COMMAND) this.input += ch;
        else this.overflow = true;
        continue;
      }
      const cmd = this.input.endsWith('\r') ? this.input.slice(0, -1) : this.input;
      const dropped = this.overflow;
      this.input = '';
      this.overflow = false;
      if (!dropped) this.command(cmd);
    }
  }

  private command(cmd: string): void {
    if (cmd === 'ID?') return this.send(`ID=${this.opts.id}`);
    if (cmd === 'READ?') return this.sendReading();
    if (cmd === 'STOP') {
      this.stopTimer();
      this.stopTimer = () => {};
      return this.send('OK');
    }
    if (cmd === 'START') {
      this.start();
      return this.send('OK');
    }
    const rate = /^RATE=(\d{1,7})$/.exec(cmd);
    if (rate !== null) {
      this.intervalMs = Number(rate[1]);
      this.start();
      return this.send('OK');
    }
    this.send('ERR unknown command');
  }
}

function checkInterval(ms: number): number {
  if (!Number.isInteger(ms) || ms < 0) throw new LocalError(CommonCode.USAGE, `line sensor interval: expected a whole number of ms >= 0, got ${ms}`);
  return ms;
}
