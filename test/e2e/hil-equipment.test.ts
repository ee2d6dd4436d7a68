// `uzpgw hil equipment` (issue #15) as a user runs it, on the config example of docs/HIL.md: a real
// CLI process opens paced socat PTYs for every serial slot; a Modbus RTU master on the printed path
// reads every declared register and decodes it the way the config declares it (the gateway's own
// codec); the line sensor sends lines with the slot's delimiter; the raw slot echoes; the MQTT slot
// is listed as not simulated; SIGTERM stops everything, socat included, by pid; after a SIGKILL,
// which runs no exit hook, its reaper does (src/lib/reaper.ts).

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadGatewayConfig } from '../../src/config/index.js';
import { decodeRegister, wordsPerValue } from '../../src/hil-devices/register-codec.js';
import { closeSerial, openSerial } from '../../src/sim/serial-open.js';
import { RtuMaster } from '../virtual-serial/rtu-master.js';
import { childrenOf, killStillRunning, stillRunningAfter, type Proc } from '../helpers/orphans.js';
import { pidAlive, signalProcess, spawnCli, stopAll, waitForJsonLine } from '../helpers/processes.js';

const CONFIG = 'docs/examples/hil/virtual/gateway.json';

let orphans: Proc[] = [];
let leftDir: string | undefined;

afterAll(async () => {
  killStillRunning(orphans);
  await stopAll();
  if (leftDir !== undefined) rmSync(leftDir, { recursive: true, force: true });
});

interface SlotLine {
  event: 'slot';
  slot: string;
  kind: string;
  path?: string;
  baud?: number;
  framing?: string;
  units?: number[];
  why?: string;
}

describe('uzpgw hil equipment (issue #15)', () => {
  it('wires every serial slot of a config to paced virtual equipment, and stops it all on SIGTERM', async () => {
    const child = spawnCli(['hil', 'equipment', '--config', CONFIG, '--json']);
    const ready = await waitForJsonLine<{ event: string; dir: string; pids: number[] }>(child, (v) => v.event === 'ready');
    const slots = new Map(
      child
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as SlotLine)
        .filter((l) => l.event === 'slot')
        .map((l) => [l.slot, l]),
    );
    expect([...slots.keys()]).toEqual(['rs485-1', 'tty-1', 'tty-2', 'net-1']);
    expect(slots.get('rs485-1')).toMatchObject({ kind: 'modbus-rtu-bus', baud: 19200, framing: '8E1', units: [1, 7] });
    expect(slots.get('tty-1')).toMatchObject({ kind: 'line-sensor', baud: 9600, framing: '8N1' });
    expect(slots.get('tty-2')).toMatchObject({ kind: 'echo', baud: 115200 });
    expect(slots.get('net-1')).toMatchObject({ kind: 'none' });
    expect(slots.get('net-1')!.why).toMatch(/MQTT/);
    expect(ready.pids.length).toBeGreaterThanOrEqual(3);

    // Modbus: every register the config declares answers, and decodes (as the gateway decodes it) to
    // a value in the generator's range.
    const units = loadGatewayConfig(CONFIG, { checkFiles: false }).slots.find((s) => s.id === 'rs485-1')!.device;
    if (units.driver !== 'modbus-poller') throw new Error('expected a modbus slot');
    const port = await openSerial(slots.get('rs485-1')!.path!, 19200);
    const master = new RtuMaster(port, 19200, '8E1');
    try {
      const decoded: Record<string, unknown> = {};
      for (const u of units.units) {
        for (const r of u.registers) {
          if (r.table === 'coils' || r.table === 'discrete') {
            const res = await master.call(u.unit, { fn: r.table === 'coils' ? 1 : 2, address: r.address, quantity: r.count });
            expect(res?.response.fn, `${u.unit}/${r.name}`).toBe(r.table === 'coils' ? 1 : 2);
            continue;
          }
          const words = wordsPerValue(r.type) * r.count;
          const res = await master.call(u.unit, { fn: r.table === 'holding' ? 3 : 4, address: r.address, quantity: words });
          expect(res?.unit).toBe(u.unit);
          const regs = (res!.response as unknown as { registers: number[] }).registers;
          decoded[`${u.unit}/${r.name}`] = decodeRegister(r, regs);
        }
      }
      // int16 x0.1 around 10.0 (raw 100 ± 60), uint16 x0.1 around 100.0, uint32 (little word order)
      // x0.1 around 100,000, float32 around 21.5.
      expect(decoded['1/temperature']).toBeGreaterThanOrEqual(3.9);
      expect(decoded['1/temperature']).toBeLessThanOrEqual(16.1);
      expect(decoded['1/humidity']).toBeGreaterThanOrEqual(89.9);
      expect(decoded['1/humidity']).toBeLessThanOrEqual(110.1);
      expect(decoded['7/energy']).toBeGreaterThanOrEqual(99_499.9);
      expect(decoded['7/energy']).toBeLessThanOrEqual(100_500.1);
      expect(decoded['7/power']).toBeGreaterThanOrEqual(18.4);
      expect(decoded['7/power']).toBeLessThanOrEqual(24.6);
      // a unit the config does not name stays silent, as on a real bus
      expect(await master.call(9, { fn: 3, address: 0, quantity: 1 }, 300)).toBeNull();
    } finally {
      master.close();
      await closeSerial(port);
    }

    // The line sensor: a line with the slot's delimiter within a couple of seconds.
    const tty1 = await openSerial(slots.get('tty-1')!.path!, 9600);
    try {
      const line = await new Promise<string>((resolve) => {
        let buf = '';
        tty1.on('data', (c: Buffer) => {
          buf += c.toString('latin1');
          const end = buf.indexOf('\r\n');
          if (end >= 0) resolve(buf.slice(0, end));
        });
      });
      expect(line.length).toBeGreaterThan(0);
    } finally {
      await closeSerial(tty1);
    }

    // The raw slot echoes.
    const tty2 = await openSerial(slots.get('tty-2')!.path!, 115200);
    try {
      const echoed = new Promise<string>((resolve) => {
        let buf = '';
        tty2.on('data', (c: Buffer) => {
          buf += c.toString('latin1');
          if (buf.length >= 5) resolve(buf);
        });
      });
      tty2.write(Buffer.from('hello'));
      expect(await echoed).toBe('hello');
    } finally {
      await closeSerial(tty2);
    }

    signalProcess(child, 'SIGTERM');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(child.stdout()).toContain('{"event":"stopped"}');
    expect(ready.pids.length).toBeGreaterThan(0);
    for (const pid of ready.pids) expect(pidAlive(pid), `socat ${pid}`).toBe(false);
    expect(existsSync(ready.dir)).toBe(false);
  });

  it('killed with SIGKILL (no exit hook runs), still leaves no socat and no directory behind', async () => {
    const child = spawnCli(['hil', 'equipment', '--config', CONFIG, '--json']);
    const ready = await waitForJsonLine<{ event: string; dir: string; pids: number[] }>(child, (v) => v.event === 'ready');
    const kids = childrenOf(child.pid);
    orphans = kids;
    leftDir = ready.dir;
    expect(kids.filter((k) => ready.pids.includes(k.pid))).toHaveLength(ready.pids.length);
    process.kill(child.pid, 'SIGKILL');
    await child.exited;
    // Every child (the socat processes and the reaper) gone, the directory removed by the reaper.
    expect((await stillRunningAfter(kids, 20_000)).map((k) => `${k.pid} ${k.args}`)).toEqual([]);
    expect(existsSync(ready.dir)).toBe(false);
  });

  it('--dir: the links go into that directory (made if missing), which is kept at the end', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'uzp-hil-dir-')), 'new', 'sub');
    const child = spawnCli(['hil', 'equipment', '--config', CONFIG, '--dir', dir, '--json']);
    const ready = await waitForJsonLine<{ event: string; dir: string }>(child, (v) => v.event === 'ready');
    expect(ready.dir).toBe(dir);
    expect(existsSync(join(dir, 'rs485-1')) && existsSync(join(dir, 'tty-1')) && existsSync(join(dir, 'tty-2'))).toBe(true);
    signalProcess(child, 'SIGINT');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(dir)).toBe(true);
    expect(existsSync(join(dir, 'rs485-1'))).toBe(false); // socat removed its links
    rmSync(join(dir, '..', '..'), { recursive: true, force: true });
  });

  it('--dir naming a file is a usage error (exit 2) that says so, not a stack trace', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'uzp-hil-dir-')), 'a-file');
    writeFileSync(file, 'x');
    const child = spawnCli(['hil', 'equipment', '--config', CONFIG, '--dir', file]);
    const { code } = await child.exited;
    expect(code).toBe(2);
    expect(child.stderr()).toMatch(/--dir .*a-file: cannot use it as the equipment directory \(E(EXIST|NOTDIR)\); give a directory/);
    expect(child.stderr()).not.toMatch(/\n\s+at /);
    rmSync(join(file, '..'), { recursive: true, force: true });
  });

  it('a config that does not validate is refused with the issue, before any PTY is opened', async () => {
    const child = spawnCli(['hil', 'equipment', '--config', 'docs/examples/does-not-exist.json']);
    const { code } = await child.exited;
    expect(code).not.toBe(0);
    expect(child.stderr()).toMatch(/does-not-exist\.json/);
  });
});
