// A byte string in a reading's value never shows like text in the web console (docs/CONSOLE.md "The
// API"). The console served values through cborToJson, which writes bytes as bare hex: an MQTT
// reading's payload of the bytes de ad be ef and the text "deadbeef" were both "payload":"deadbeef"
// in the API and on the page, and a binary payload whose hex reads as digits (the bytes 31 32:
// "3132") was plotted as the number 3132. Now the values carry the marking `connect tail` prints
// (src/uzp/cbor-marked.ts): "payload_hex", and {"hex": …} for a value that is a byte string. Checked
// where both consoles make their points — the collector's from its SQLite database, served by the
// console's HTTP server on loopback and rendered by the page in headless chromium, and an operator's
// from the readings it sees live.

import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CollectorConsole } from '../../src/collector/console-source.js';
import { ObservedStore } from '../../src/collector/store/observed.js';
import { SqliteStore } from '../../src/collector/store/sqlite.js';
import type { StoredReading } from '../../src/collector/store/store.js';
import { LiveHistory } from '../../src/console/live-history.js';
import type { GatewayDetail, SlotDetail } from '../../src/console/model.js';
import { ConsoleServer } from '../../src/console/server.js';
import { toHex } from '../../src/uzp/bytes.js';
import { encodeCanonical, type CborValue } from '../../src/uzp/cbor.js';
import { chromiumPath, launchBrowser } from '../helpers/browser.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-console-bytes-'));
const G = new Uint8Array(32).fill(0x3b);
const CID = toHex(G);
const DEADBEEF = Uint8Array.of(0xde, 0xad, 0xbe, 0xef);
/** What the readings of slot net-1 carry, by seq: text and bytes that bare hex printed alike, and bytes whose hex is digits. */
const VALUES: CborValue[] = [
  { topic: 'plant/press-2', payload: 'deadbeef' },
  { topic: 'plant/press-2', payload: DEADBEEF },
  { topic: 'plant/press-2', payload: Uint8Array.of(0x31, 0x32) },
  { topic: 'plant/press-2', payload: '12' },
];
const MARKED = [
  { topic: 'plant/press-2', payload: 'deadbeef' },
  { topic: 'plant/press-2', payload_hex: 'deadbeef' },
  { topic: 'plant/press-2', payload_hex: '3132' },
  { topic: 'plant/press-2', payload: '12' },
];
/** The plotted numbers: a text payload "12" is one; the bytes 31 32 are not. */
const PLOTTED = [{}, {}, {}, { 'plant/press-2': 12 }];

let store: ObservedStore;
let con: CollectorConsole;
let server: ConsoleServer;

beforeAll(async () => {
  store = new ObservedStore(SqliteStore.open(join(dir, 'c.db')));
  const now = Date.now();
  const reading = (seq: number, value: CborValue): StoredReading => ({ gateway: G, slot: 'net-1', device: 'broker-1', kind: 'mqtt', epoch: 1, seq, ts: now - 60_000 + seq, value: encodeCanonical(value) });
  await store.insert(VALUES.map((v, seq) => reading(seq, v)));
  // A slot whose newest value is itself a byte string: no key of its own in the value column.
  await store.insert([{ ...reading(0, DEADBEEF), slot: 'raw-1' }]);
  con = await CollectorConsole.open(store, () => []);
  server = await ConsoleServer.start({ source: con, listen: { host: '127.0.0.1', port: 0 } });
});

afterAll(async () => {
  await server?.close();
  con?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

function getJson<T>(path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, server.address), (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body) as T) : reject(new Error(`${path}: ${res.statusCode} ${body}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('byte strings in the console', () => {
  it("the collector's API: a slot's points and a row's newest value carry bytes marked, and bytes are not plotted", async () => {
    const slot = await getJson<SlotDetail>(`/api/slot/${CID}/net-1?since=0`);
    expect(slot.points.map((p) => p.value)).toEqual(MARKED);
    expect(slot.points.map((p) => p.values)).toEqual(PLOTTED);
    const gw = await getJson<GatewayDetail>(`/api/gateway/${CID}`);
    expect(Object.fromEntries(gw.slots.map((s) => [s.slot, s.last]))).toEqual({ 'net-1': MARKED[3], 'raw-1': { hex: 'deadbeef' } });
  });

  it("an operator's console: what it keeps of the readings it sees live", () => {
    const h = new LiveHistory();
    expect(VALUES.map((value, seq) => h.add({ ts: 1_000 + seq, seq, value })).map((p) => [p.value, p.values])).toEqual(MARKED.map((m, i) => [m, PLOTTED[i]]));
    expect(h.add({ ts: 2_000, seq: 9, value: DEADBEEF }).value).toEqual({ hex: 'deadbeef' });
  });

  describe.skipIf(chromiumPath() === undefined)('the page (headless chromium)', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchBrowser();
    }, 30_000);
    afterAll(async () => {
      await browser?.close();
    });

    it("the slot view's last values and the gateway view's newest value: the bytes do not read like the text", async () => {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${server.address}#/slot/${CID}/net-1`);
      await page.waitForSelector('#last-values tr[data-seq="0"]', { timeout: 10_000 });
      const cell = async (seq: number): Promise<string> => (await page.textContent(`#last-values tr[data-seq="${seq}"] td:last-child`))!;
      expect(await cell(0)).toBe('{"topic":"plant/press-2","payload":"deadbeef"}');
      expect(await cell(1)).toBe('{"topic":"plant/press-2","payload_hex":"deadbeef"}');
      await page.goto(`${server.address}#/gateway/${CID}`);
      await page.waitForSelector('tr[data-slot="raw-1"]', { timeout: 10_000 });
      expect(await page.textContent('tr[data-slot="raw-1"]')).toContain('{"hex":"deadbeef"}');
      expect(errors).toEqual([]);
      await page.close();
    });
  });
});
