// An operator's console (`uzpgw connect … ui`) serves a reading value over 4 KiB as its size in
// words, as the collector's does (docs/CONSOLE.md "The API"): in a slot's history, as the row's
// newest value and in the live events. Real processes: an RN and a gateway with a serial-raw slot on
// a PTY, and `connect … ui`; the test writes 64 KiB chunks to the line and reads the console's API.
// Before: every 64 KiB chunk was kept and served whole (128 KiB of hex per point, up to 5,000 of
// them per slot): a review's run served a 23 MiB answer and took the console from 82 to 138 MiB.

import { afterAll, beforeAll, expect, it } from 'vitest';
import { POINT_VALUE_MAX_BYTES, tooLargeText } from '../../src/console/point-budget.js';
import { VirtualLine } from '../../src/sim/virtual-line.js';
import { spawnCli, stopAll, stopProcess, waitForJsonLine, type Child } from '../helpers/processes.js';
import { startEquipmentGateway, type EquipmentGateway } from '../gateway/equipment-gateway.js';

const BAUD = 921_600;
const CHUNK = 65_536;
/** {bytes: h'…'} of one full chunk: 1 (map) + 6 ("bytes") + 5 (byte string head) + the bytes. */
const CHUNK_CBOR = CHUNK + 12;
let gw: EquipmentGateway;
let line: VirtualLine;
let ui: Child;
let url: string;

beforeAll(async () => {
  gw = await startEquipmentGateway({
    // A full buffer goes out at once, a partial one after 2 s of quiet: the chunks are CHUNK each.
    slots: { 'tty-1': { device: { id: 'raw-1', driver: 'serial-raw', serial: { baud: BAUD }, max_buffer_bytes: CHUNK, idle_flush_ms: 2000 } } },
    before: async (f) => void (line = await VirtualLine.open({ baud: BAUD, dir: f('pty'), name: 'tty-1' })),
  });
  ui = spawnCli(['connect', ...gw.grantFlags([{ slot: 'tty-1', purposes: [{ purpose: 'serial.read' }] }]), 'ui', '--listen', '127.0.0.1:0', '--json']);
  url = (await waitForJsonLine<{ url: string }>(ui, (v) => v.event === 'listening')).url;
}, 90_000);

afterAll(async () => {
  if (ui !== undefined) await stopProcess(ui);
  await line?.close();
  await stopAll();
  await gw?.close();
});

async function get<T>(path: string): Promise<{ body: string; json: T }> {
  const r = await fetch(new URL(path, url));
  expect(r.status, path).toBe(200);
  const body = await r.text();
  return { body, json: JSON.parse(body) as T };
}

interface Row {
  readings: number;
  last?: unknown;
}

async function readings(n: number): Promise<Row> {
  for (;;) {
    const row = (await get<{ slots: Row[] }>(`/api/gateway/${gw.cid}`)).json.slots[0]!;
    if (row.readings >= n) return row;
    await new Promise((r) => setTimeout(r, 200));
  }
}

it('a value over 4 KiB is its size in words: in the history, as the newest value and live', async () => {
  // The live events, from before the first reading.
  const stop = new AbortController();
  const stream = await fetch(new URL('/api/events', url), { signal: stop.signal });
  let events = '';
  const reading = (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of stream.body!) events += decoder.decode(chunk as Uint8Array, { stream: true });
    } catch {
      // aborted at the end of the test
    }
  })();

  line.device!.write(Buffer.from('hello'));
  await readings(1);
  line.device!.write(Buffer.alloc(2 * CHUNK, 0xab));
  const row = await readings(3);

  const placeholder = tooLargeText(CHUNK_CBOR);
  expect(row.last).toBe(placeholder);
  const { body, json } = await get<{ points: { values: object; value: unknown }[]; omittedPoints?: number }>(`/api/slot/${gw.cid}/tty-1`);
  expect(json.points.map((p) => p.value)).toEqual([{ bytes_hex: Buffer.from('hello').toString('hex') }, placeholder, placeholder]);
  expect(json.points.map((p) => p.values)).toEqual([{}, {}, {}]);
  expect(json.omittedPoints).toBeUndefined();
  // Whole, the two chunks were 256 KiB of hex in this answer.
  expect(body.length).toBeLessThan(POINT_VALUE_MAX_BYTES);

  const live = () =>
    events
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => JSON.parse(l.slice(6)) as { t: string; point?: { value: unknown } })
      .filter((e) => e.t === 'reading')
      .map((e) => e.point!.value);
  // The events went out before the row counted them; the stream may still be delivering.
  while (live().length < 3) await new Promise((r) => setTimeout(r, 100));
  expect(live()).toEqual(json.points.map((p) => p.value));
  stop.abort();
  await reading;
}, 60_000);
