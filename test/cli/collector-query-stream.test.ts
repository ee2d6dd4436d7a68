// `uzpgw collector query` prints readings as it reads them (src/cli/collector-print.ts): the same
// lines as before for a small database, a note on stderr when --limit cut the output, and never
// more than the reading being written held between the store and the output.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { printReadings } from '../../src/cli/collector-print.js';
import { SqliteStore } from '../../src/collector/store/sqlite.js';
import type { StoredReading } from '../../src/collector/store/store.js';
import { encodeCanonical, type CborValue } from '../../src/uzp/cbor.js';
import { runCli as run } from '../helpers/cli-run.js';
import { spawnCli, stopAll } from '../helpers/processes.js';

const tmp = mkdtempSync(join(tmpdir(), 'uzp-cli-cq-'));
afterAll(async () => {
  await stopAll();
  rmSync(tmp, { recursive: true, force: true });
});

const G = new Uint8Array(32).fill(0x5a);
const GH = '5a'.repeat(32);
const T = Date.UTC(2026, 0, 1);
const reading = (slot: string, seq: number, value: CborValue): StoredReading => ({ gateway: G, slot, device: 'sensor-1', kind: 'line', epoch: 1, seq, ts: T + seq * 1000, value: encodeCanonical(value) });

async function smallDb(): Promise<string> {
  const file = join(tmp, `db-${Math.random()}.db`);
  const s = SqliteStore.open(file);
  await s.insert([reading('tty-2', 0, { line: 'x' }), reading('tty-1', 1, { line: 'a,"b"' }), reading('tty-1', 0, 7)]);
  await s.close();
  return file;
}

describe('collector query prints as it reads', () => {
  it('a small database prints the same lines as before, in every format', async () => {
    const db = await smallDb();
    const table = await run('collector', 'query', '--db', db);
    expect(table.code, table.err).toBe(0);
    expect(table.err).toBe('');
    expect(table.out).toBe(
      [
        `2026-01-01T00:00:00.000Z  ${GH.slice(0, 12)}…  tty-1  sensor-1  1/0  7`,
        `2026-01-01T00:00:01.000Z  ${GH.slice(0, 12)}…  tty-1  sensor-1  1/1  {"line":"a,\\"b\\""}`,
        `2026-01-01T00:00:00.000Z  ${GH.slice(0, 12)}…  tty-2  sensor-1  1/0  {"line":"x"}`,
        '',
      ].join('\n'),
    );
    const json = await run('collector', 'query', '--db', db, '--json');
    expect(json.out.trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      { gateway: GH, slot: 'tty-1', device: 'sensor-1', kind: 'line', epoch: 1, seq: 0, ts: '2026-01-01T00:00:00.000Z', value: 7 },
      { gateway: GH, slot: 'tty-1', device: 'sensor-1', kind: 'line', epoch: 1, seq: 1, ts: '2026-01-01T00:00:01.000Z', value: { line: 'a,"b"' } },
      { gateway: GH, slot: 'tty-2', device: 'sensor-1', kind: 'line', epoch: 1, seq: 0, ts: '2026-01-01T00:00:00.000Z', value: { line: 'x' } },
    ]);
    const csv = await run('collector', 'query', '--db', db, '--csv');
    expect(csv.out).toBe(
      [
        'gateway,slot,device,kind,epoch,seq,ts,value',
        `${GH},tty-1,sensor-1,line,1,0,2026-01-01T00:00:00.000Z,7`,
        `${GH},tty-1,sensor-1,line,1,1,2026-01-01T00:00:01.000Z,"{""line"":""a,\\""b\\""""}"`,
        `${GH},tty-2,sensor-1,line,1,0,2026-01-01T00:00:00.000Z,"{""line"":""x""}"`,
        '',
      ].join('\n'),
    );
  });

  it('a byte string never prints like text: hex under its key with _hex added, value_hex in --json, {"hex"} in a table cell', async () => {
    const file = join(tmp, `db-${Math.random()}.db`);
    const s = SqliteStore.open(file);
    const bytes = Uint8Array.of(0xde, 0xad, 0xbe, 0xef);
    await s.insert([reading('net-1', 0, { topic: 't', payload: 'deadbeef' }), reading('net-1', 1, { topic: 't', payload: bytes }), reading('raw-1', 0, bytes)]);
    await s.close();
    // Before: "payload":"deadbeef" for both readings, and "value":"deadbeef" for the bytes themselves.
    const json = await run('collector', 'query', '--db', file, '--json');
    expect(json.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).map(({ slot, value, value_hex }) => ({ slot, value, value_hex }))).toEqual([
      { slot: 'net-1', value: { topic: 't', payload: 'deadbeef' } },
      { slot: 'net-1', value: { topic: 't', payload_hex: 'deadbeef' } },
      { slot: 'raw-1', value_hex: 'deadbeef' },
    ]);
    const table = await run('collector', 'query', '--db', file);
    expect(table.out.trim().split('\n').map((l) => l.slice(l.indexOf('1/'))).map((l) => l.slice(l.indexOf(' ') + 2))).toEqual(['{"topic":"t","payload":"deadbeef"}', '{"topic":"t","payload_hex":"deadbeef"}', '{"hex":"deadbeef"}']);
  });

  it('--limit that cuts the output says so on stderr; one that does not, says nothing', async () => {
    const db = await smallDb();
    const cut = await run('collector', 'query', '--db', db, '--json', '--limit', '2');
    expect(cut.code, cut.err).toBe(0);
    expect(cut.out.trim().split('\n')).toHaveLength(2);
    expect(cut.err).toMatch(/stopped at --limit 2: more readings match/);
    const whole = await run('collector', 'query', '--db', db, '--json', '--limit', '3');
    expect(whole.out.trim().split('\n')).toHaveLength(3);
    expect(whole.err).toBe('');
  });

  it('holds one reading at a time: each is written, and the output drained, before the next is read', async () => {
    let yielded = 0;
    let written = 0;
    let peak = 0;
    async function* rows(): AsyncIterable<StoredReading> {
      for (let i = 0; i < 2_000; i++) {
        yielded++;
        peak = Math.max(peak, yielded - written);
        yield reading('tty-1', i, { bytes: new Uint8Array(1024) });
      }
    }
    // A slow reader: every write is taken a turn later, with a small buffer, so the output pushes back.
    const out = new Writable({
      highWaterMark: 4096,
      write(_c, _e, cb) {
        written++;
        setImmediate(cb);
      },
    });
    const err = new Writable({ write: (_c, _e, cb) => cb() });
    expect(await printReadings(rows(), out, err, 'json', 1_500)).toEqual({ printed: 1_500, cut: true });
    expect(yielded).toBe(1_501);
    expect(peak).toBeLessThanOrEqual(2);
  });

  // `collector query --json | head -n1` (README "Exit status"). Before: events.once(out, 'drain')
  // rejected with the EPIPE, printed as "unexpected error" with a stack, exit 1.
  it('a reader that closes the pipe early: the query stops quietly, exit 141', async () => {
    const file = join(tmp, `db-${Math.random()}.db`);
    const s = SqliteStore.open(file);
    // Far more than a pipe's buffer (64 KiB), so writes are still to come when the reader leaves.
    await s.insert(Array.from({ length: 3_000 }, (_, i) => reading('tty-1', i, { line: 'x'.repeat(200) })));
    await s.close();
    const c = spawnCli(['collector', 'query', '--db', file, '--json']);
    await new Promise<void>((resolve) => c.proc.stdout!.once('data', () => resolve()));
    c.proc.stdout!.destroy();
    expect(await c.exited).toEqual({ code: 141, signal: null });
    expect(c.stderr()).toBe('');
  }, 30_000);

  it('an output that fails (in process): printing stops, no error thrown', async () => {
    const rows = (async function* (): AsyncIterable<StoredReading> {
      for (let i = 0; i < 100; i++) yield reading('tty-1', i, 1);
    })();
    let writes = 0;
    const out = new Writable({
      write(_c, _e, cb) {
        writes++;
        cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const err = new Writable({ write: (_c, _e, cb) => cb() });
    await expect(printReadings(rows, out, err, 'json', 1_000)).resolves.toMatchObject({ cut: false });
    expect(writes).toBe(1);
  });
});
