// The scenario expectations (steps.ts runs them): each watches the readings the run's operators
// tail, or acts as an operator under a Grant, and says what it saw against what it expected.

import { performance } from 'node:perf_hooks';
import type { DiagCounters, DiagReport } from '../hil/diag-report.js';
import { HilRefusedError, SlotChannel } from '../operator/slot-channel.js';
import { rtuTransactionMs } from '../ports/line-timing.js';
import type { Session } from '../uzp/session/session.js';
import { framingOf } from './equipment.js';
import { pause } from './pause.js';
import type { Action, Expectation, Outcome } from './scenario.js';
import type { RunContext } from './steps.js';


export async function judge(e: Expectation, ctx: RunContext): Promise<{ ok: boolean; message: string }> {
  switch (e.expect) {
    case 'readings':
      return expectReadings(e, ctx);
    case 'values':
      return expectValues(e, ctx);
    case 'action':
      return expectAction(e, ctx);
    case 'diagnostics':
      return expectDiagnostics(e, ctx);
    case 'latency':
      return expectLatency(e, ctx);
  }
}

/** Waits until `done` says so, re-checking on each reading of `slot`, at most `withinMs`. */
async function watch(ctx: RunContext, slot: string, withinMs: number, done: () => boolean): Promise<number> {
  const t0 = performance.now();
  while (!done() && ctx.stopWaiting?.aborted !== true) {
    const left = withinMs - (performance.now() - t0);
    if (left <= 0) break;
    ctx.keepUp();
    await ctx.store.next(slot, left, ctx.stopWaiting);
  }
  return Math.round(performance.now() - t0);
}

async function expectReadings(e: Extract<Expectation, { expect: 'readings' }>, ctx: RunContext): Promise<{ ok: boolean; message: string }> {
  // since 'start': every reading of the run counts (the demo's "did each slot deliver at all").
  const since = e.since === 'start' ? 0 : performance.now();
  const count = (): number => ctx.store.readings(e.slot).filter((r) => r.at >= since).length;
  const ms = await watch(ctx, e.slot, e.withinMs, () => count() >= e.min);
  const n = count();
  const when = e.since === 'start' ? 'since the run started' : `in ${ms} ms`;
  return n >= e.min ? { ok: true, message: `${n} reading(s) of ${e.slot} ${when}` } : { ok: false, message: `${n} reading(s) of ${e.slot} ${e.since === 'start' ? 'since the run started' : `within ${e.withinMs} ms`}; expected at least ${e.min}${notTailed(ctx, e.slot)}` };
}

/** After a count that fell short: the run's own tail of the slot being down, when it is, is why. */
function notTailed(ctx: RunContext, slot: string): string {
  const why = ctx.whyNotTailed(slot);
  return why === undefined ? '' : ` (the run's tail of ${slot} is not up: ${why})`;
}

/**
 * The number and text a reading is checked by: a Modbus register's decoded value; an MQTT
 * message's payload (a JSON number, or a JSON object's "value"; `match` sees the payload text); a
 * serial line's first number.
 */
function readingFacts(v: unknown): { num?: number; text: string; register?: string; unit?: number } {
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  if (typeof o.name === 'string' && 'value' in o) {
    const num = typeof o.value === 'number' ? o.value : typeof o.value === 'bigint' ? Number(o.value) : undefined;
    return { ...(num !== undefined ? { num } : {}), text: String(o.value), register: o.name, ...(typeof o.unit === 'number' ? { unit: o.unit } : {}) };
  }
  if (typeof o.line === 'string') {
    const m = /-?\d+(?:\.\d+)?/.exec(o.line);
    return { ...(m !== null ? { num: Number(m[0]) } : {}), text: o.line };
  }
  if (typeof o.topic === 'string' && (o.payload instanceof Uint8Array || typeof o.payload === 'string')) {
    // The bridge sends UTF-8 payloads as text and anything else as bytes (hil-devices/mqtt-bridge.ts).
    const text = typeof o.payload === 'string' ? o.payload : Buffer.from(o.payload).toString('utf8');
    let num: number | undefined;
    try {
      const j: unknown = JSON.parse(text);
      if (typeof j === 'number') num = j;
      else if (typeof j === 'object' && j !== null && typeof (j as { value?: unknown }).value === 'number') num = (j as { value: number }).value;
    } catch {
      // not JSON: only `match` applies
    }
    return { ...(num !== undefined ? { num } : {}), text };
  }
  return { text: JSON.stringify(v) ?? '' };
}

async function expectValues(e: Extract<Expectation, { expect: 'values' }>, ctx: RunContext): Promise<{ ok: boolean; message: string }> {
  const since = performance.now();
  const re = e.match !== undefined ? new RegExp(e.match) : undefined;
  const relevant = (): ReturnType<typeof readingFacts>[] =>
    ctx.store
      .readings(e.slot)
      .filter((r) => r.at >= since)
      .map((r) => readingFacts(r.value))
      .filter((f) => (e.register === undefined || f.register === e.register) && (e.unit === undefined || f.unit === e.unit));
  const bad = (f: ReturnType<typeof readingFacts>): string | undefined => {
    if (re !== undefined && !re.test(f.text)) return `${JSON.stringify(f.text)} does not match /${e.match}/`;
    if (e.min === undefined && e.max === undefined) return undefined;
    if (f.num === undefined) return `${JSON.stringify(f.text)} has no number`;
    if (e.min !== undefined && f.num < e.min) return `${f.num} is below ${e.min}`;
    if (e.max !== undefined && f.num > e.max) return `${f.num} is above ${e.max}`;
    return undefined;
  };
  const what = `${e.slot}${e.register !== undefined ? ` ${e.register}` : ''}${e.unit !== undefined ? ` (unit ${e.unit})` : ''}`;
  await watch(ctx, e.slot, e.withinMs, () => {
    const r = relevant();
    return r.length >= e.samples || r.some((f) => bad(f) !== undefined);
  });
  const r = relevant().slice(0, e.samples);
  const first = r.map(bad).find((b) => b !== undefined);
  if (first !== undefined) return { ok: false, message: `${what}: ${first}` };
  if (r.length < e.samples) return { ok: false, message: `${what}: ${r.length} value(s) within ${e.withinMs} ms; expected ${e.samples}${notTailed(ctx, e.slot)}` };
  const range = e.min !== undefined || e.max !== undefined ? ` within [${e.min ?? '-inf'}, ${e.max ?? 'inf'}]` : '';
  return { ok: true, message: `${what}: ${r.length} value(s)${range}${re !== undefined ? ` matching /${e.match}/` : ''}` };
}

const READ_FC = { coils: 1, discrete: 2, holding: 3, input: 4 } as const;

function readPdu(table: keyof typeof READ_FC, address: number, count: number): Uint8Array {
  return Uint8Array.of(READ_FC[table], address >> 8, address & 0xff, count >> 8, count & 0xff);
}

function describeOutcome(o: Outcome): string {
  return 'ok' in o ? 'ok' : 'refused' in o ? `refused ${o.refused}` : `exception ${o.exception}`;
}

function sameOutcome(a: Outcome, b: Outcome): boolean {
  return describeOutcome(a) === describeOutcome(b);
}

async function expectAction(e: Extract<Expectation, { expect: 'action' }>, ctx: RunContext): Promise<{ ok: boolean; message: string }> {
  const restricted = e.purposes !== undefined ? await ctx.restrictedSession(e.slot, e.purposes) : undefined;
  try {
    const session = restricted?.session ?? (await ctx.session());
    const got = await perform(session, e.slot, e.action);
    const text = `${e.action.do} on ${e.slot}${e.purposes !== undefined ? ` under [${e.purposes.join(', ')}]` : ''}: ${describeOutcome(got.outcome)}${got.detail !== undefined ? ` (${got.detail})` : ''}`;
    return sameOutcome(got.outcome, e.outcome) ? { ok: true, message: text } : { ok: false, message: `${text}; expected ${describeOutcome(e.outcome)}` };
  } finally {
    restricted?.close();
  }
}

const ECHO_WAIT_MS = 2000;
/**
 * A serial write has no acknowledgement: the gateway answers only a refusal (no id: a Grant
 * without serial.write, a port that is down, a device write that failed). Without an echo to wait
 * for, a write is taken as accepted when no refusal came back within this window (a local round
 * trip through the RN is a few ms; the window is the bound, not the expected time).
 */
const WRITE_GRACE_MS = 1000;

/**
 * Sends `want` and reports the gateway's outcome: its refusal if one arrives, else (with `echo`)
 * whether the bytes came back within ECHO_WAIT_MS, else ok after WRITE_GRACE_MS.
 */
async function serialWrite(ch: SlotChannel, want: Buffer, echo: boolean): Promise<{ outcome: Outcome; detail?: string }> {
  let got = Buffer.alloc(0);
  let timer: NodeJS.Timeout | undefined;
  let onRefused: ((code: string) => void) | undefined;
  let onData: ((d: Uint8Array) => void) | undefined;
  // Listeners first: a refusal is emitted once, to whoever listens when it arrives.
  const settled = new Promise<{ refused?: string; echoed?: boolean }>((resolve) => {
    onRefused = (code: string): void => resolve({ refused: code });
    ch.on('refused', onRefused);
    if (echo) {
      onData = (d: Uint8Array): void => {
        got = Buffer.concat([got, d]).subarray(-2 * want.length);
        if (got.includes(want)) resolve({ echoed: true });
      };
      ch.on('data', onData);
    }
    timer = setTimeout(() => resolve({ echoed: false }), echo ? ECHO_WAIT_MS : WRITE_GRACE_MS);
  });
  try {
    await ch.write(want);
    const r = await settled;
    if (r.refused !== undefined) return { outcome: { refused: r.refused } };
    if (!echo) return { outcome: { ok: true }, detail: `no refusal within ${WRITE_GRACE_MS} ms` };
    if (r.echoed !== true) return { outcome: { refused: 'DEVICE_ERROR' }, detail: `no echo of ${want.length} byte(s) within ${ECHO_WAIT_MS} ms` };
    return { outcome: { ok: true }, detail: 'echoed' };
  } finally {
    clearTimeout(timer);
    if (onRefused !== undefined) ch.off('refused', onRefused);
    if (onData !== undefined) ch.off('data', onData);
  }
}

async function perform(session: Session, slot: string, a: Action): Promise<{ outcome: Outcome; detail?: string }> {
  const mode = a.do.startsWith('modbus') ? 'modbus' : a.do.startsWith('serial') ? 'serial' : 'mqtt';
  let ch: SlotChannel;
  try {
    ch = await SlotChannel.open(session, slot, mode);
  } catch (e) {
    if (e instanceof HilRefusedError) return { outcome: { refused: e.refusal }, detail: 'when opening the slot' };
    throw e;
  }
  try {
    switch (a.do) {
      case 'modbus.read':
      case 'modbus.write': {
        const pdu = a.do === 'modbus.read' ? readPdu(a.table, a.address, a.count) : Uint8Array.of(6, a.address >> 8, a.address & 0xff, a.value >> 8, a.value & 0xff);
        const r = await ch.modbus(a.unit, pdu);
        if (r.refused !== undefined) return { outcome: { refused: r.refused } };
        if ((r.pdu[0] ?? 0) & 0x80) return { outcome: { exception: r.pdu[1] ?? 0 } };
        return { outcome: { ok: true }, detail: `${r.pdu.length}-byte reply` };
      }
      case 'serial.write':
        // Awaited here: the channel is closed in `finally`, which must wait for the echo.
        return await serialWrite(ch, Buffer.from(a.text, 'utf8'), a.echo);
      case 'mqtt.publish':
        await ch.publish(a.topic, Buffer.from(a.payload, 'utf8'));
        return { outcome: { ok: true } };
      case 'mqtt.subscribe':
        await ch.subscribe(a.filter);
        return { outcome: { ok: true } };
    }
  } catch (e) {
    if (e instanceof HilRefusedError) return { outcome: { refused: e.refusal } };
    throw e;
  } finally {
    void ch.close().catch(() => {});
  }
}

const DIAG_POLL_MS = 250;

async function expectDiagnostics(e: Extract<Expectation, { expect: 'diagnostics' }>, ctx: RunContext): Promise<{ ok: boolean; message: string }> {
  const ch = await SlotChannel.open(await ctx.session(), e.slot, 'diag');
  const what = `${e.slot}${e.unit !== undefined ? ` unit ${e.unit}` : ''} ${e.counter}`;
  const t0 = performance.now();
  let last = 'no report';
  // The gateway counts from its start; a counter is judged from the step's start (what the faults
  // before it left behind does not count), unless `since: start` asks for the gateway's totals.
  let base: number | undefined;
  let total = 0;
  try {
    for (;;) {
      const report = await ch.diag();
      const c = countersOf(report, e.unit);
      if (c === undefined) last = `unit ${e.unit} is not in the slot's diagnostics (units ${report.units.map((u) => u.unit).join(', ')})`;
      else if (e.counter === 'state') {
        last = c.state;
        if (c.state === e.state) return { ok: true, message: `${what} = ${c.state}` };
      } else {
        total = c[e.counter];
        base ??= e.since === 'start' ? 0 : total;
        // A gateway that restarted counts from 0 again: never a negative count.
        const v = Math.max(0, total - base);
        last = `${v}`;
        const held = (e.min === undefined || v >= e.min) && (e.max === undefined || v <= e.max);
        if (held) return { ok: true, message: `${what} = ${v}${counted(e.since, total)}` };
      }
      if (performance.now() - t0 >= e.withinMs || ctx.stopWaiting?.aborted === true) break;
      await pause(DIAG_POLL_MS, ctx.stopWaiting);
    }
  } finally {
    void ch.close().catch(() => {});
  }
  const want = e.counter === 'state' ? e.state : `${e.min !== undefined ? `>= ${e.min}` : ''}${e.min !== undefined && e.max !== undefined ? ' and ' : ''}${e.max !== undefined ? `<= ${e.max}` : ''}`;
  return { ok: false, message: `${what} = ${last} after ${e.withinMs} ms; expected ${want}${e.counter !== 'state' && base !== undefined ? counted(e.since, total) : ''}` };
}

function counted(since: 'step' | 'start' | undefined, total: number): string {
  return since === 'start' ? ' (since the gateway started)' : ` (since the step began; ${total} since the gateway started)`;
}

function countersOf(r: DiagReport, unit: number | undefined): DiagCounters | undefined {
  return unit === undefined ? r.all : r.units.find((u) => u.unit === unit);
}

async function expectLatency(e: Extract<Expectation, { expect: 'latency' }>, ctx: RunContext): Promise<{ ok: boolean; message: string }> {
  const slot = ctx.config.slots.find((s) => s.id === e.slot)!;
  if (slot.device.driver !== 'modbus-poller' || slot.device.transport.kind !== 'rtu') throw new Error(`${e.slot} is not a Modbus RTU slot`);
  const serial = slot.device.transport.serial;
  const replyBytes = e.table === 'holding' || e.table === 'input' ? 5 + 2 * e.count : 5 + Math.ceil(e.count / 8);
  // Modbus over Serial Line v1.02 §2.5.1.1: both frames' characters and a t3.5 gap after each.
  const specMs = rtuTransactionMs(8, replyBytes, serial.baudRate, framingOf(serial));
  const ch = await SlotChannel.open(await ctx.session(), e.slot, 'modbus');
  const rtts: number[] = [];
  try {
    for (let i = 0; i < e.samples; i++) {
      const t = performance.now();
      const r = await ch.modbus(e.unit, readPdu(e.table, e.address, e.count));
      if (r.refused !== undefined) return { ok: false, message: `read ${i + 1} of ${e.samples} refused (${r.refused})` };
      if ((r.pdu[0] ?? 0) & 0x80) return { ok: false, message: `read ${i + 1} of ${e.samples} answered exception ${r.pdu[1]}` };
      rtts.push(performance.now() - t);
    }
  } finally {
    void ch.close().catch(() => {});
  }
  rtts.sort((a, b) => a - b);
  const p50 = rtts[Math.floor(rtts.length / 2)]!;
  const ratio = p50 / specMs;
  const text = `median round trip ${p50.toFixed(2)} ms over ${e.samples} reads = ${ratio.toFixed(2)} x the spec transaction time ${specMs.toFixed(2)} ms`;
  return ratio <= e.maxRatio ? { ok: true, message: text } : { ok: false, message: `${text}; expected at most ${e.maxRatio} x` };
}
