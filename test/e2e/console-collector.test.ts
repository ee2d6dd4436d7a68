// The collector's web console in a real browser (issue #17): a trust domain, an RN, a gateway
// publishing two serial-line slots and `uzpgw collector --ui` storing them into SQLite — all real
// processes on loopback (test/helpers/publish-rig.ts). Headless chromium checks each view renders
// from the database, a line written to a sensor appears in the slot view within 2 s, and a Discovery
// Grant the collector refuses shows up in the audit view, live. Screenshots go to test-artifacts/.

import { readFileSync, writeFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../src/uzp/bytes.js';
import { artifactPath, launchBrowser } from '../helpers/browser.js';
import { stopProcess, waitForJsonLine } from '../helpers/processes.js';
import { PublishRig, until } from '../helpers/publish-rig.js';

let rig: PublishRig;
let browser: Browser;
let page: Page;
let url: string;
let cid: string;
const errors: string[] = [];

async function startCollectorUi(): Promise<string> {
  const c = await rig.startCollector(['--ui', '127.0.0.1:0']);
  return (await waitForJsonLine<{ url: string }>(c, (v) => v.event === 'console.listening')).url;
}

beforeAll(async () => {
  rig = await PublishRig.create();
  url = await startCollectorUi();
  await rig.startGateway();
  cid = toHex(rig.gw.cid);
  await rig.writeLines('tty-1', 5, 20, 'T=20.5');
  await until('the first readings stored', async () => ((await rig.stored()).filter((r) => r.slot === 'tty-1').length >= 5 ? true : undefined));
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => errors.push(e.message));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await rig?.close();
});

describe('the collector console (collector --ui)', () => {
  it('fleet view: the publishing gateway, its session through the RN, its Discovery Grant expiry and reading count', async () => {
    await page.goto(url);
    const row = `tr[data-gateway="${cid}"]`;
    await page.waitForSelector(row, { timeout: 10_000 });
    const text = (await page.textContent(row))!;
    expect(text).toMatch(/connected via RN/);
    expect(text).toMatch(/Discovery Grant: expires/);
    expect(text).toMatch(/not appraised/);
    expect(await page.textContent('#role')).toMatch(/collector console/);
    await page.screenshot({ path: artifactPath('console-collector-fleet.png'), fullPage: true });
  });

  it('gateway view: the announced slots with their devices and counts, and where per-slave diagnostics are', async () => {
    await page.goto(`${url}#/gateway/${cid}`);
    await page.waitForSelector('tr[data-slot="tty-1"][data-state="ok"]', { timeout: 10_000 });
    expect(await page.textContent('tr[data-slot="tty-1"]')).toMatch(/sensor-tty-1, serial-line/);
    expect(await page.textContent('tr[data-slot="tty-2"]')).toMatch(/nothing stored yet|no data yet/);
    expect(await page.textContent('main')).toMatch(/connect … ui/);
    await page.screenshot({ path: artifactPath('console-collector-gateway.png'), fullPage: true });
  });

  it('slot view: the history from the database, and a new reading appears within 2 s', async () => {
    await page.goto(`${url}#/slot/${cid}/tty-1`);
    await page.waitForSelector('#last-values tr:has-text("n=4 T=20.5")', { timeout: 10_000 });
    await page.waitForSelector('#chart canvas', { timeout: 5_000 });
    await rig.writeLines('tty-1', 1, 0, 'T=21.5');
    await page.waitForSelector('#last-values tr:first-child:has-text("n=5 T=21.5")', { timeout: 2_000 });
    await page.screenshot({ path: artifactPath('console-collector-slot.png'), fullPage: true });
  });

  it('audit view: the accepted grant, then a refused one appears live', async () => {
    // The collector comes back processing for one more purpose than the gateway's Discovery Grant allows.
    await stopProcess(rig.collector!);
    const config = JSON.parse(readFileSync(rig.at('collector.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(rig.at('collector.json'), JSON.stringify({ ...config, purposes: ['telemetry.store', 'telemetry.analytics'] }));
    url = await startCollectorUi();
    await page.goto(`${url}#/audit`);
    await page.waitForSelector('tr[data-event="grant.accepted"]', { timeout: 10_000 });
    // The gateway reconnects with backoff and announces again: refused, and the row arrives over SSE.
    // Its publisher's backoff (500 ms doubling, capped at 30 s: gateway/publisher/publisher.ts) kept
    // growing while the collector restarted, so its next try can be up to 30 s after the collector is
    // back; under the full suite's load a 30 s wait here missed it once (2026-12-06).
    await page.waitForSelector('tr.refusal[data-event="grant.refused"]', { timeout: 45_000 });
    const text = (await page.textContent('tr.refusal[data-event="grant.refused"]'))!;
    expect(text).toMatch(/DISCOVERY_POLICY/);
    expect(text).toMatch(/telemetry\.analytics/);
    await page.screenshot({ path: artifactPath('console-collector-audit.png'), fullPage: true });
  }, 90_000);

  it('the page raised no error in any view', () => {
    expect(errors).toEqual([]);
  });
});
