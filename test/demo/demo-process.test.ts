// `uzpgw demo` as users run it: a child process printing JSON lines, which itself starts an RN, a
// gateway and operators as processes. Each run: process lines for every role, readings from every
// slot kind, a summary that agrees with the readings, exit 0, and afterwards no process it started
// (children and the socat / mosquitto it used) still alive. Once with socat and mosquitto (both
// installed here), once with both fallbacks forced, once interrupted with SIGINT (to the demo's
// pid only: its children are stopped by it, by pid); and once without --json on a pipe, where the
// human view stays one line per reading. Ctrl-C from a terminal: ctrl-c.test.ts.

import { afterAll, describe, expect, it } from 'vitest';
import { spawnCli, stopAll, type Child } from '../helpers/processes.js';

afterAll(() => stopAll());

interface Line {
  event: string;
  [k: string]: unknown;
}

function lines(c: Child): Line[] {
  return c
    .stdout()
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Line);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

async function runDemo(args: string[]): Promise<{ code: number | null; out: Line[]; stderr: string }> {
  const c = spawnCli(['demo', '--json', ...args]);
  const { code } = await c.exited;
  return { code, out: lines(c), stderr: c.stderr() };
}

/** The checks every completed run must pass; returns the summary. */
function checkRun(out: Line[]): Line {
  // Every line is one of the three documented events, and the summary is the last line.
  expect(new Set(out.map((l) => l.event))).toEqual(new Set(['process', 'reading', 'summary']));
  const summary = out.at(-1)!;
  expect(summary.event).toBe('summary');

  const procs = out.filter((l) => l.event === 'process');
  expect(procs.map((p) => p.role).sort()).toEqual(['gateway', 'operator', 'operator', 'operator', 'rn']);
  for (const p of procs) expect(Number.isInteger(p.pid) && (p.pid as number) > 0).toBe(true);

  const readings = out.filter((l) => l.event === 'reading');
  const bySlot = (slot: string) => readings.filter((r) => r.slot === slot);
  expect(new Set(readings.map((r) => r.kind))).toEqual(new Set(['modbus', 'serial', 'mqtt']));
  expect(bySlot('rs485-1').every((r) => r.kind === 'modbus' && r.device === 'th-bus-1')).toBe(true);
  expect(bySlot('tty-1').every((r) => r.kind === 'serial' && r.device === 'sensor-7')).toBe(true);
  expect(bySlot('net-1').every((r) => r.kind === 'mqtt' && r.device === 'press-2')).toBe(true);
  for (const slot of ['rs485-1', 'tty-1', 'net-1']) {
    const seqs = bySlot(slot).map((r) => r.seq as number);
    expect(seqs.length).toBeGreaterThan(0);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
  }

  // The multi-drop bus: both TH-20s and the meter answered on one line.
  const modbus = bySlot('rs485-1').map((r) => r.value as { unit: number; name: string; value: number });
  expect(new Set(modbus.map((v) => v.unit))).toEqual(new Set([1, 2, 7]));
  const temps = modbus.filter((v) => v.name === 'temperature').map((v) => v.value);
  expect(temps.every((t) => t > 15 && t < 30)).toBe(true); // TH-20 drift: 21.4..25.4 +- 1.5 °C
  const energy = modbus.filter((v) => v.name === 'energy').map((v) => v.value);
  expect(energy.length).toBeGreaterThanOrEqual(2); // meter polled every second
  for (let i = 1; i < energy.length; i++) expect(energy[i]).toBeGreaterThan(energy[i - 1]!); // a live counter

  expect(bySlot('tty-1').every((r) => /^T=-?\d+\.\d;H=\d+$/.test((r.value as { line: string }).line))).toBe(true);
  expect(bySlot('net-1').every((r) => (r.value as { topic: string }).topic.startsWith('plant/press-2/telemetry/'))).toBe(true);

  // The summary agrees with what was printed, and says every slot delivered.
  expect(summary.readings).toEqual({ 'rs485-1': bySlot('rs485-1').length, 'tty-1': bySlot('tty-1').length, 'net-1': bySlot('net-1').length });
  expect(summary).toMatchObject({ ok: true, exit_code: 0, missing: [] });
  expect(typeof summary.duration_ms).toBe('number');
  expect(summary.node).toBe(process.version); // the pinned runtime, whatever /usr/bin/node is

  // Nothing it started is still running: its children and the tools behind the equipment.
  const pids = [...procs.map((p) => p.pid as number), ...(summary.tools as { pid: number }[]).map((t) => t.pid)];
  expect(pids.filter(alive)).toEqual([]);
  return summary;
}

describe('uzpgw demo', () => {
  it('with socat and mosquitto: every slot delivers through RN, gateway and operators, exit 0, nothing left running', async () => {
    const { code, out, stderr } = await runDemo(['--seconds', '5']);
    expect(code, stderr).toBe(0);
    const summary = checkRun(out);
    expect(summary.defaults).toEqual({ serial: 'socat', mqtt: 'mosquitto', reasons: [] });
    expect((summary.tools as { name: string }[]).map((t) => t.name).sort()).toEqual(['mosquitto', 'socat', 'socat']);
  });

  it('forced embedded defaults (--no-socat --no-mosquitto): the same, and it says so', async () => {
    const { code, out, stderr } = await runDemo(['--seconds', '5', '--no-socat', '--no-mosquitto']);
    expect(code, stderr).toBe(0);
    const summary = checkRun(out);
    expect(summary.defaults).toEqual({
      serial: 'embedded (simulators in the gateway process)',
      mqtt: 'embedded (broker in the demo process)',
      reasons: ['socat disabled (--no-socat)', 'mosquitto disabled (--no-mosquitto)'],
    });
    expect(summary.tools).toEqual([]);
  });

  // `--seconds` counts live readings, not the set-up (README): the old deadline ran from the demo's
  // start, so the least the flag takes (3) ended the run before any operator was up, every time.
  it('--seconds 3, the least it takes: three seconds of live readings counted from the first reading of every slot, every slot delivers, exit 0', async () => {
    const { code, out, stderr } = await runDemo(['--seconds', '3', '--no-socat', '--no-mosquitto']);
    const summary = out.at(-1)!;
    expect(summary.missing, stderr).toEqual([]);
    expect(code, stderr).toBe(0);
    for (const slot of ['rs485-1', 'tty-1', 'net-1']) expect((summary.readings as Record<string, number>)[slot]).toBeGreaterThan(0);
  });

  it('SIGINT stops the run early: summary marked interrupted, children stopped by pid', async () => {
    const c = spawnCli(['demo', '--json', '--seconds', '120', '--no-mosquitto']);
    // Interrupt once every slot has shown a reading (and the meter two, which checkRun wants).
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        const readings = c.stdout().split('\n').filter((l) => l.includes('"event":"reading"')).map((l) => JSON.parse(l) as Line);
        const energy = readings.filter((r) => (r.value as { name?: string }).name === 'energy');
        if (new Set(readings.map((r) => r.slot)).size === 3 && energy.length >= 2) resolve();
      };
      c.proc.stdout!.on('data', check);
      void c.exited.then(() => reject(new Error(`demo exited early: ${c.stderr()}`)));
    });
    process.kill(c.pid, 'SIGINT');
    const { code } = await c.exited;
    expect(code).toBe(0);
    const out = lines(c);
    const summary = checkRun(out);
    expect(summary.interrupted).toBe(true);
    expect(summary.defaults).toMatchObject({ serial: 'socat', mqtt: 'embedded (broker in the demo process)' });
  });

  it('not a terminal, not --json: one plain line per reading and per event, no cursor movement', async () => {
    const c = spawnCli(['demo', '--seconds', '5', '--no-mosquitto']);
    const { code } = await c.exited;
    expect(code, c.stderr()).toBe(0);
    const out = c.stdout();
    expect(out).not.toContain('\x1b');
    const lines = out.split('\n');
    const readings = lines.filter((l) => /^ {2}\s*\d+\.\ds {2}(rs485-1|tty-1|net-1)\s+\S+\s+(modbus|serial|mqtt)\s+#\d+\s+\S/.test(l));
    for (const slot of ['rs485-1', 'tty-1', 'net-1']) expect(readings.some((l) => l.includes(` ${slot} `))).toBe(true);
    // Its time is when the demo got to it (0.0 s alone, 0.1 s once under the suite's load).
    expect(lines.filter((l) => /^\[demo \d+\.\ds\] throwaway trust domain in \S+$/.test(l))).toHaveLength(1);
    expect(lines.filter((l) => /^\[demo \d+\.\ds\] started (rn|gateway|operator \S+) \(pid \d+\)$/.test(l))).toHaveLength(5);
    // The summary counts what was printed, one line per reading.
    const summary = Object.fromEntries([...out.matchAll(/^ {2}(\S+)\s+\S+\s+\S+\s+(\d+) readings$/gm)].map((m) => [m[1], Number(m[2])]));
    expect(summary).toEqual(Object.fromEntries(['rs485-1', 'tty-1', 'net-1'].map((slot) => [slot, readings.filter((l) => l.includes(` ${slot} `)).length])));
  });

  it('--help and usage errors', async () => {
    const help = spawnCli(['demo', '--help']);
    expect((await help.exited).code).toBe(0);
    for (const flag of ['--seconds', '--json', '--no-socat', '--no-mosquitto']) expect(help.stdout()).toContain(flag);
    const bad = spawnCli(['demo', '--seconds', '1']);
    expect((await bad.exited).code).toBe(2);
    expect(bad.stderr()).toContain('--seconds');
  });
});
