// The operator's web console in a real browser (issue #17): a real RN and `uzpgw gateway` process,
// a baud-paced RTU line with two live slaves and a serial-line sensor on PTYs, and `uzpgw connect …
// ui` under a Grant covering both slots plus one the gateway does not have. Headless chromium
// (test/helpers/browser.ts) checks each view renders, a new reading reaches the slot view within
// 2 s of being written to the sensor's line, the refused slot shows up in the audit view, and a
// slave that stops answering turns its row red. Screenshots go to test-artifacts/.

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModbusRtuBus } from '../../src/sim/modbus-rtu-bus.js';
import { VirtualLine } from '../../src/sim/virtual-line.js';
import { artifactPath, launchBrowser } from '../helpers/browser.js';
import { spawnCli, stopAll, stopProcess, waitForJsonLine, type Child } from '../helpers/processes.js';
import { startEquipmentGateway, type EquipmentGateway } from '../gateway/equipment-gateway.js';

// The page functions below run in the browser, where this exists (the test's own types have no DOM).
declare const getComputedStyle: (e: unknown) => { readonly backgroundColor: string };

const BAUD = 38_400;
let gw: EquipmentGateway;
let bus: VirtualLine;
let sensor: VirtualLine;
let sim: ModbusRtuBus;
let ui: Child;
let url: string;
let browser: Browser;
let page: Page;
const errors: string[] = [];

beforeAll(async () => {
  gw = await startEquipmentGateway({
    slots: {
      'rs485-1': {
        device: {
          id: 'bus-1',
          driver: 'modbus-poller',
          serial: { baud: BAUD },
          timeout_ms: 2000,
          units: [
            { unit: 1, name: 'boiler', registers: [{ name: 't', table: 'holding', address: 0, type: 'uint16', poll_interval_ms: 200 }] },
            // A short timeout: once its slave is dead the unit times out within the test's wait.
            { unit: 2, name: 'pump', timeout_ms: 150, registers: [{ name: 'p', table: 'holding', address: 0, type: 'uint16', poll_interval_ms: 200 }] },
          ],
        },
      },
      'tty-1': { device: { id: 'sensor-7', driver: 'serial-line', serial: { baud: 9600 } } },
    },
    before: async (f) => {
      bus = await VirtualLine.open({ baud: BAUD, dir: f('pty'), name: 'rs485-1' });
      sim = new ModbusRtuBus(bus.device!, { baud: BAUD, slaves: [{ unit: 1, holdingRegisters: [215, 0] }, { unit: 2, holdingRegisters: [42, 0] }] });
      sensor = await VirtualLine.open({ baud: 9600, dir: f('pty'), name: 'tty-1' });
    },
  });
  const flags = gw.grantFlags([
    { slot: 'rs485-1', purposes: [{ purpose: 'modbus.read' }, { purpose: 'diag.read' }] },
    { slot: 'tty-1', purposes: [{ purpose: 'serial.read' }] },
    // The gateway has no such slot: its tail is refused, and the console's audit view says so.
    { slot: 'ghost-9', purposes: [{ purpose: 'serial.read' }] },
  ]);
  ui = spawnCli(['connect', ...flags, 'ui', '--listen', '127.0.0.1:0', '--json']);
  url = (await waitForJsonLine<{ url: string }>(ui, (v) => v.event === 'listening')).url;
  // The serial-line driver starts at its first delimiter: one empty line puts it in step.
  sensor.device!.write(Buffer.from('\n'));
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => errors.push(e.message));
}, 90_000);

afterAll(async () => {
  await browser?.close();
  if (ui !== undefined) await stopProcess(ui);
  sim?.close();
  await bus?.close();
  await sensor?.close();
  await stopAll();
  await gw?.close();
});

async function audit(): Promise<{ event: string; text: string; at: number }[]> {
  return (await (await fetch(new URL('/api/audit?limit=1000', url))).json()) as { event: string; text: string; at: number }[];
}

async function until(f: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const gatewayCid = (): string => gw.cid;

describe('the operator console (connect … ui)', () => {
  it('fleet view: the gateway, connected through the RN, not appraised without --manifest, its Grant expiry', async () => {
    await page.goto(url);
    await page.waitForSelector(`tr[data-gateway="${gatewayCid()}"]`, { timeout: 10_000 });
    const row = (await page.textContent(`tr[data-gateway="${gatewayCid()}"]`))!;
    expect(row).toMatch(/connected via RN/);
    expect(row).toMatch(/not appraised/);
    expect(row).toMatch(/your Grant: expires/);
    expect(await page.textContent('#role')).toMatch(/operator console/);
    // The heading takes focus on each view (keyboard and screen-reader users land on it).
    expect(await page.evaluate('document.activeElement?.tagName')).toBe('H1');
    await page.screenshot({ path: artifactPath('console-operator-fleet.png'), fullPage: true });
  });

  it('gateway view: each slave a row with its counters; a slave that stops answering turns its row red', async () => {
    await page.goto(`${url}#/gateway/${gatewayCid()}`);
    await page.waitForSelector('tr[data-slot="rs485-1"][data-unit="2"][data-state="ok"]', { timeout: 15_000 });
    await page.waitForSelector('tr[data-slot="tty-1"]');
    const okColour = await page.$eval('tr[data-unit="2"] td', (td) => getComputedStyle(td).backgroundColor);
    sim.slave(2).faults.dead = true;
    await page.waitForSelector('tr[data-slot="rs485-1"][data-unit="2"][data-state="timeout"]', { timeout: 15_000 });
    const cell = await page.$eval('tr[data-unit="2"] td', (td) => ({ bg: getComputedStyle(td).backgroundColor, text: td.textContent }));
    // Red: the bad-state background (#fde2e1), and the state said in words too.
    expect(cell.bg).toBe('rgb(253, 226, 225)');
    expect(cell.bg).not.toBe(okColour);
    expect(cell.text).toMatch(/timeout/);
    // The live unit stays green, and the slot row takes the worst state.
    expect(await page.getAttribute('tr[data-unit="1"]', 'data-state')).toBe('ok');
    await page.waitForSelector('tr[data-slot="rs485-1"][data-state="timeout"]:not([data-unit])');
    await page.screenshot({ path: artifactPath('console-operator-gateway.png'), fullPage: true });
    sim.slave(2).faults.dead = false;
  });

  it('slot view: a plot of the sensor line, and a new reading appears within 2 s', async () => {
    await page.goto(`${url}#/slot/${gatewayCid()}/tty-1`);
    await page.waitForSelector('#last-values', { state: 'attached', timeout: 5_000 });
    sensor.device!.write(Buffer.from('T=21.5 C\n'));
    await page.waitForSelector('#last-values tr', { timeout: 5_000 });
    sensor.device!.write(Buffer.from('T=22.75 C\n'));
    // A selector, not a page function: the console's CSP forbids string evaluation in the page.
    await page.waitForSelector('#last-values tr:first-child:has-text("T=22.75 C")', { timeout: 2_000 });
    // uPlot drew a canvas with the series named after the line's number.
    await page.waitForSelector('#chart canvas', { timeout: 3_000 });
    expect(await page.textContent('#chart')).toMatch(/line/);
    await page.screenshot({ path: artifactPath('console-operator-slot.png'), fullPage: true });
  });

  it('audit view: the refused slot, marked as a refusal, explained with the Grant held', async () => {
    await page.goto(`${url}#/audit`);
    await page.waitForSelector('tr.refusal[data-event="channel.refused"]', { timeout: 5_000 });
    const text = (await page.textContent('tr.refusal[data-event="channel.refused"]'))!;
    expect(text).toMatch(/ghost-9/);
    expect(await page.$$('tr[data-event="channel.opened"]')).not.toHaveLength(0);
    await page.screenshot({ path: artifactPath('console-operator-audit.png'), fullPage: true });
  });

  it('outlives a gateway restart: a fresh session, the slots opened again, new readings on the page', async () => {
    await page.goto(`${url}#/slot/${gatewayCid()}/tty-1`);
    await page.waitForSelector('#last-values tr:has-text("T=22.75 C")', { timeout: 5_000 });
    // SIGTERM: the gateway closes its sessions and stops; a new process takes its identity.
    await stopProcess(gw.gateway);
    const again = spawnCli(['gateway', '--config', gw.f('gateway.json')]);
    await waitForJsonLine(again, (v) => v.event === 'rn.attached');
    await until(async () => (await audit()).filter((l) => l.event === 'session.opened').length === 2);
    await until(async () => (await audit()).some((l) => l.event === 'channel.opened' && l.text.startsWith('tail opened on slot tty-1') && l.at > Date.now() - 30_000));
    sensor.device!.write(Buffer.from('\nT=30.25 C\n'));
    await page.waitForSelector('#last-values tr:first-child:has-text("T=30.25 C")', { timeout: 10_000 });
    // The readings from before the restart are still on the page.
    expect(await page.textContent('#last-values')).toMatch(/T=22.75 C/);
    await stopProcess(again);
  }, 60_000);

  it('the page raised no error in any view', () => {
    expect(errors).toEqual([]);
  });
});
