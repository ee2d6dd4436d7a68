// Ctrl-C on `uzpgw demo` through a real pseudo-terminal (pty-demo.ts): the kernel delivers SIGINT
// to the demo and every child it started (RN, gateway, operators, socat, mosquitto) at once, as
// from a person's keyboard. Each run waits until readings flow, types Ctrl-C and checks that the
// demo exits (a 15 s hang guard; the measured stop time is printed, not asserted), that no process
// of the session is left, and that the temporary directory with the domain's keys is gone. The
// same runs check the terminal view: one line per slot rewritten in place, events below.

import { existsSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/processes.js';
import { aliveIn, COLUMNS, PtyDemo, ROWS, type SessionProcess } from './pty-demo.js';
import { renderScreen, slotLines } from './screen.js';

const SLOTS = ['rs485-1', 'tty-1', 'net-1'];
/** Hang guards, not timing claims: start-up on a loaded machine, and the stop after Ctrl-C. */
const START_GUARD_MS = 45_000;
const STOP_GUARD_MS = 15_000;

const demos = new Set<PtyDemo>();
afterEach(async () => {
  for (const d of demos) {
    d.killSession();
    await d.close();
  }
  demos.clear();
});

const stopTimes: Record<string, number[]> = {};
afterAll(() => {
  // The measured figures, for the record (the assertions above are about outcomes, not speed).
  for (const [what, ms] of Object.entries(stopTimes)) console.info(`demo stop after ${what}: ${ms.map((m) => `${Math.round(m)} ms`).join(', ')}`);
});

/** What the demo started, from /proc, by kind. */
function classify(procs: readonly SessionProcess[]): { node: SessionProcess[]; socat: SessionProcess[]; mosquitto: SessionProcess[]; other: SessionProcess[] } {
  const r = { node: [] as SessionProcess[], socat: [] as SessionProcess[], mosquitto: [] as SessionProcess[], other: [] as SessionProcess[] };
  for (const p of procs) {
    if (p.cmd.includes(CLI)) r.node.push(p);
    else if (/^(\S*\/)?socat /.test(p.cmd)) r.socat.push(p);
    else if (/^(\S*\/)?mosquitto /.test(p.cmd)) r.mosquitto.push(p);
    else r.other.push(p);
  }
  return r;
}

function screenOf(d: PtyDemo) {
  return renderScreen(d.output(), COLUMNS, ROWS);
}

function readingsOnEverySlot(raw: string): boolean {
  const lines = slotLines(renderScreen(raw, COLUMNS, ROWS).lines);
  return SLOTS.every((slot) => lines.some((l) => l.slot === slot && l.count > 0));
}

interface Interrupted {
  readonly demo: PtyDemo;
  readonly code: number;
  readonly stopMs: number;
  /** Every process of the session just before Ctrl-C. */
  readonly before: SessionProcess[];
  readonly dir: string;
}

/**
 * Runs the demo on a pty, waits for `ready`, types Ctrl-C (twice with `again`: the second once
 * the demo says it is stopping) and waits for the demo to exit. Checks what every run must: the
 * demo said where its directory is and it existed; afterwards no process of the session is alive
 * (those seen before Ctrl-C checked by pid) and the directory is gone.
 */
async function interrupt(args: readonly string[], ready: { what: string; test: (raw: string) => boolean }, again = false): Promise<Interrupted> {
  const demo = new PtyDemo(['--seconds', '300', ...args]);
  demos.add(demo);
  await demo.until(ready.test, ready.what, START_GUARD_MS);
  const dir = /throwaway trust domain in (\S+)/.exec(screenOf(demo).lines.join('\n'))?.[1];
  expect(dir).toBeDefined();
  expect(existsSync(dir!)).toBe(true);
  const sid = demo.sessionId!;
  const before = demo.sessionProcesses();
  expect(classify(before).node.length).toBeGreaterThan(0); // the demo itself at least

  demo.type('\x03');
  const sent = performance.now();
  if (again) {
    await demo.until((raw) => raw.includes('stopping: operators'), 'the demo saying it is stopping', STOP_GUARD_MS);
    demo.type('\x03');
  }
  await demo.until((raw) => /uzp-demo-exit \d+/.test(raw), 'the demo to exit after Ctrl-C', STOP_GUARD_MS);
  const { code, at } = demo.demoExit!;

  expect(before.filter((p) => aliveIn(p.pid, sid)).map((p) => p.cmd)).toEqual([]);
  expect(demo.sessionProcesses().map((p) => p.cmd)).toEqual([]); // nor anything started later
  expect(existsSync(dir!)).toBe(false);
  return { demo, code, stopMs: at - sent, before, dir: dir! };
}

function record(what: string, ms: number): void {
  (stopTimes[what] ??= []).push(ms);
}

describe('uzpgw demo on a terminal: Ctrl-C', () => {
  it('one Ctrl-C with readings flowing (socat, mosquitto): everything stops, directory removed; slot lines updated in place', { timeout: 90_000 }, async () => {
    const r = await interrupt([], { what: 'a reading on every slot line', test: readingsOnEverySlot });
    record('one Ctrl-C (socat, mosquitto)', r.stopMs);
    expect(r.code).toBe(0); // every slot had delivered before the interrupt

    // Everything it started was alive before Ctrl-C: the demo, RN, gateway, three operators,
    // a socat per serial line and mosquitto. Its own reports name the same pids.
    const kinds = classify(r.before);
    expect({ node: kinds.node.length, socat: kinds.socat.length, mosquitto: kinds.mosquitto.length, other: kinds.other.map((p) => p.cmd) }).toEqual({ node: 6, socat: 2, mosquitto: 1, other: [] });
    const screen = screenOf(r.demo);
    const text = screen.lines.join('\n');
    const reported = [...text.matchAll(/\(pids? ([\d, ]+)\)/g)].flatMap((m) => m[1]!.split(', ').map(Number));
    expect(reported.length).toBe(8); // rn, gateway, 3 operators, 2 socat, mosquitto
    expect(reported.every((pid) => r.before.some((p) => p.pid === pid))).toBe(true);
    // mosquitto's own config directory went with it.
    const mosquittoDir = /-c (\S+)\/mosquitto\.conf/.exec(kinds.mosquitto[0]!.cmd)?.[1];
    expect(mosquittoDir).toBeDefined();
    expect(existsSync(mosquittoDir!)).toBe(false);

    // It said what it was doing.
    expect(text).toContain('Ctrl-C: stopping');
    expect(text).toMatch(/everything stopped in \d+\.\ds; removed \S+/);

    // The view: the slot lines were rewritten in place (cursor moves), so the final screen holds
    // exactly one line per slot, the first thing drawn, with the events below it and no line
    // reaching the last column (none wrapped).
    expect(r.demo.output()).toMatch(/\x1b\[\d+A/);
    const slots = slotLines(screen.lines);
    expect(slots.map((s) => s.slot)).toEqual(SLOTS);
    expect(slots.map((s) => s.index)).toEqual([slots[0]!.index, slots[0]!.index + 1, slots[0]!.index + 2]);
    expect(screen.lines.findIndex((l) => l.includes('started rn (pid'))).toBeGreaterThan(slots[2]!.index);
    expect(screen.widest).toBeLessThan(COLUMNS);
    // Each final slot line shows what the summary counted, an age and a value of its kind.
    const summary = Object.fromEntries([...text.matchAll(/^ {2}(\S+)\s+\S+\s+\S+\s+(\d+) readings$/gm)].map((m) => [m[1], Number(m[2])]));
    for (const s of slots) {
      expect(s.count).toBe(summary[s.slot]);
      expect(s.count).toBeGreaterThan(0);
      expect(s.age).toBeGreaterThanOrEqual(0);
    }
    expect(slots[0]!.last).toMatch(/^unit [127] \S+ = /);
    expect(slots[1]!.last).toMatch(/^"T=-?\d+\.\d;H=\d+"$/);
    expect(slots[2]!.last).toMatch(/^plant\/press-2\/telemetry\//);
    // No line-per-reading log on a terminal.
    expect(screen.lines.filter((l) => /^\s+\d+\.\ds\s+(rs485-1|tty-1|net-1)\s.*#\d+/.test(l))).toEqual([]);
  });

  it('one Ctrl-C with the embedded defaults (simulators in the gateway, broker in the demo): the same', { timeout: 90_000 }, async () => {
    const r = await interrupt(['--no-socat', '--no-mosquitto'], { what: 'a reading on every slot line', test: readingsOnEverySlot });
    record('one Ctrl-C (embedded)', r.stopMs);
    expect(r.code).toBe(0);
    const kinds = classify(r.before);
    expect({ node: kinds.node.length, socat: kinds.socat.length, mosquitto: kinds.mosquitto.length, other: kinds.other.map((p) => p.cmd) }).toEqual({ node: 6, socat: 0, mosquitto: 0, other: [] });
    expect(kinds.node.some((p) => p.cmd.includes(' demo gateway '))).toBe(true);
  });

  it('a second Ctrl-C while stopping: says it is already stopping, kills what is left, directory removed', { timeout: 90_000 }, async () => {
    const r = await interrupt([], { what: 'a reading on every slot line', test: readingsOnEverySlot }, true);
    record('two Ctrl-C', r.stopMs);
    const text = screenOf(r.demo).lines.join('\n');
    expect(text).toContain('Ctrl-C: stopping');
    expect(text).toMatch(new RegExp(`Ctrl-C again: already stopping; killing what is still running \\(by pid\\) and removing ${r.dir}`));
    expect(text).toMatch(/summary \(\d+\.\d s, interrupted\)/);
  });

  it('Ctrl-C during start-up (gateway not yet attached): everything stops, directory removed, exit 1', { timeout: 90_000 }, async () => {
    const r = await interrupt([], { what: 'the gateway start', test: (raw) => raw.includes('started gateway (pid') });
    record('Ctrl-C during start-up', r.stopMs);
    expect(r.code).toBe(1); // no slot had delivered
    expect(screenOf(r.demo).lines.join('\n')).toMatch(/no readings from: rs485-1, tty-1, net-1: exit 1/);
  });
});
