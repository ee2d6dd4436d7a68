// The collector's database contract (src/collector/store/store.ts), one suite run against both
// stores: SQLite in a temporary file and PostgreSQL in a throwaway cluster started by
// test/helpers/postgres.ts. Then what only one of them has: a SQLite writer SIGKILLed mid-stream,
// PostgreSQL URLs that reach nothing or are refused.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CollectorCode } from '../../src/collector/errors.js';
import { MAX_DATE_MS } from '../../src/collector/store/checks.js';
import { openStore } from '../../src/collector/store/open.js';
import { CHUNK_ROWS, MAX_PARAMS } from '../../src/collector/store/postgres.js';
import type { AuditEntry, ReadingStore, StoredReading } from '../../src/collector/store/store.js';
import { freeLoopbackPort } from '../helpers/free-port.js';
import { postgresUnavailable, startPostgres, stopAllPostgres, type PgCluster } from '../helpers/postgres.js';
import { spawnNode, stopAll, stopProcess } from '../helpers/processes.js';

const pgSkip = postgresUnavailable();
if (pgSkip !== undefined) console.warn(`PostgreSQL store tests skipped: ${pgSkip}`);

const dir = mkdtempSync(join(tmpdir(), 'uzp-store-'));
let cluster: PgCluster | undefined;
const opened: ReadingStore[] = [];
let files = 0;

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close().catch(() => {})));
});
afterAll(async () => {
  await cluster?.stop();
  await stopAllPostgres();
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

async function pgCluster(): Promise<PgCluster> {
  if (cluster === undefined) {
    cluster = await startPostgres();
    console.info(`PostgreSQL test cluster ready in ${cluster.startMs} ms (initdb, start, CREATE DATABASE) on 127.0.0.1:${cluster.port}`);
  }
  return cluster;
}

interface Backend {
  readonly name: 'sqlite' | 'postgres';
  readonly skip: string | undefined;
  /** A spec (file or URL) naming a fresh, empty database. */
  fresh(): Promise<string>;
}
const backends: Backend[] = [
  { name: 'sqlite', skip: undefined, fresh: async () => join(dir, `store-${++files}.db`) },
  { name: 'postgres', skip: pgSkip, fresh: async () => (await pgCluster()).createDatabase() },
];

async function open(spec: string): Promise<ReadingStore> {
  const s = await openStore(spec);
  opened.push(s);
  return s;
}

const G1 = new Uint8Array(32).fill(0xa1);
const G2 = new Uint8Array(32).fill(0x07);
const G3 = Uint8Array.from({ length: 32 }, (_, i) => i);

function r(o: Partial<StoredReading> & { seq: number }): StoredReading {
  return { gateway: G1, slot: 'tty-1', device: 'sensor-7', kind: 'line', epoch: 1, ts: 1_780_000_000_000 + o.seq, value: Uint8Array.of(o.seq & 0xff), ...o };
}

const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** The store's order: gateway, slot (bytes), epoch, seq. */
function sorted(rows: readonly StoredReading[]): StoredReading[] {
  const k = (x: StoredReading): [string, string] => [hex(x.gateway), Buffer.from(x.slot).toString('hex')];
  return [...rows].sort((a, b) => {
    const [ga, sa] = k(a);
    const [gb, sb] = k(b);
    return ga < gb ? -1 : ga > gb ? 1 : sa < sb ? -1 : sa > sb ? 1 : a.epoch - b.epoch || a.seq - b.seq;
  });
}
/** Deterministic shuffle (the order readings arrive in must not matter). */
function shuffled<T>(xs: readonly T[]): T[] {
  const out = [...xs];
  let s = 12345;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe.each(backends)('ReadingStore contract: $name', (b) => {
  const test = b.skip === undefined ? it : it.skip;

  test('stores a batch and reads it back byte for byte (value, ts, epoch, seq beyond 2^31)', async () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const rows = [
      r({ seq: 0, value: new Uint8Array(0), ts: 0 }),
      r({ seq: 2 ** 31 + 5, value: all, ts: 1_780_000_123_456 }),
      r({ seq: 2 ** 40, epoch: 2 ** 32 + 1, value: Uint8Array.of(0, 0, 0), slot: 'modbus/unit-3', device: 'pump é', kind: 'holding' }),
      // ts at most the Date range (8.64e15 ms, checks.ts MAX_DATE_MS): what is stored must print as a time.
      r({ seq: Number.MAX_SAFE_INTEGER, epoch: Number.MAX_SAFE_INTEGER, ts: MAX_DATE_MS, gateway: G3, slot: '☃ slot', value: new Uint8Array(70_000).fill(0xfe) }),
    ];
    const s = await open(await b.fresh());
    expect(await s.insert(shuffled(rows))).toEqual({ inserted: 4, duplicates: 0, conflicts: [] });
    const back = await s.query({});
    expect(back).toEqual(sorted(rows));
    for (const x of back) expect(x.value.constructor).toBe(Uint8Array);
  });

  test('counts duplicates within a batch and across batches, and stores each reading once (the first kept)', async () => {
    const s = await open(await b.fresh());
    expect(await s.insert([r({ seq: 1 }), r({ seq: 2 }), r({ seq: 1 })])).toEqual({ inserted: 2, duplicates: 1, conflicts: [] });
    expect(await s.insert([r({ seq: 2, value: Uint8Array.of(99) }), r({ seq: 3 })])).toMatchObject({ inserted: 1, duplicates: 1 });
    // The same seq in another epoch, slot or gateway is another reading.
    expect(await s.insert([r({ seq: 1, epoch: 2 }), r({ seq: 1, slot: 'tty-2' }), r({ seq: 1, gateway: G2 })])).toEqual({ inserted: 3, duplicates: 0, conflicts: [] });
    expect(await s.insert([])).toEqual({ inserted: 0, duplicates: 0, conflicts: [] });
    const mine = await s.query({ gateway: G1, slot: 'tty-1', limit: 100 });
    expect(mine.map((x) => [x.epoch, x.seq])).toEqual([[1, 1], [1, 2], [1, 3], [2, 1]]);
    expect(mine[1]!.value).toEqual(Uint8Array.of(2));
  });

  test('a duplicate with other content keeps the first copy and is audited once per identity with the fields that differ (nothing of either copy); one with the same content is not', async () => {
    const s = await open(await b.fresh());
    const first = r({ seq: 5, value: Uint8Array.of(1, 2, 3) });
    await s.insert([first], 1_000);
    // The same reading again (a window resent after a lost receipt): a plain duplicate.
    expect(await s.insert([first, r({ seq: 6 })], 1_001)).toEqual({ inserted: 1, duplicates: 1, conflicts: [] });
    expect(await s.auditLog()).toEqual([]);
    // Other bytes under its identity, twice in one batch (value, then ts): one entry, the first copy kept.
    const other = r({ seq: 5, value: Uint8Array.of(9) });
    const entry = { at: 1_002, gateway: G1, event: 'readings.conflict', detail: { slot: 'tty-1', epoch: 1, seq: 5, differs: ['value'] } };
    expect(await s.insert([other, r({ seq: 5, ts: 1, value: first.value })], 1_002)).toEqual({ inserted: 0, duplicates: 2, conflicts: [entry] });
    expect(await s.auditLog()).toEqual([entry]);
    // Sent again, or with yet other content: not audited again.
    expect((await s.insert([other, r({ seq: 5, device: 'x', value: first.value })], 1_003)).conflicts).toEqual([]);
    // Within one batch (the first copy stored, the second clashes), and another key: its own entry.
    const kindOf8 = r({ seq: 8, kind: 'other' });
    expect((await s.insert([r({ seq: 8 }), kindOf8], 1_004)).conflicts).toEqual([{ at: 1_004, gateway: G1, event: 'readings.conflict', detail: { slot: 'tty-1', epoch: 1, seq: 8, differs: ['kind'] } }]);
    expect((await s.auditLog()).map((e) => e.detail.seq)).toEqual([5, 8]);
    expect((await s.query({})).map((x) => [x.seq, x.kind, x.ts, [...x.value]])).toEqual([[5, 'line', first.ts, [1, 2, 3]], [6, 'line', r({ seq: 6 }).ts, [6]], [8, 'line', r({ seq: 8 }).ts, [8]]]);
  });

  test('positions() and counts() per slot of one gateway, in (epoch, seq) order', async () => {
    const s = await open(await b.fresh());
    await s.insert([
      ...range(0, 10).map((seq) => r({ seq, epoch: 1, slot: 'a' })),
      ...range(0, 3).map((seq) => r({ seq, epoch: 2, slot: 'a' })),
      r({ seq: 100, epoch: 5, slot: 'b' }),
      r({ seq: 2 ** 33, epoch: 4, slot: 'b' }),
      r({ seq: 1, epoch: 9, slot: 'a', gateway: G2 }),
    ]);
    expect(await s.positions(G1)).toEqual(new Map([['a', { epoch: 2, seq: 2 }], ['b', { epoch: 5, seq: 100 }]]));
    expect(await s.counts(G1)).toEqual(new Map([['a', 13], ['b', 2]]));
    expect(await s.positions(G2)).toEqual(new Map([['a', { epoch: 9, seq: 1 }]]));
    expect(await s.positions(G3)).toEqual(new Map());
    expect(await s.counts(G3)).toEqual(new Map());
  });

  test('query by gateway, slot, since (inclusive), until (exclusive) and limit, ordered by gateway, slot (bytes), epoch, seq', async () => {
    const rows: StoredReading[] = [];
    for (const gateway of [G1, G2, G3])
      for (const slot of ['b', 'a', 'B', 'a-2'])
        for (const epoch of [2, 1]) for (const seq of [10, 2, 2 ** 31 + 1]) rows.push(r({ gateway, slot, epoch, seq, ts: 1000 + ((seq + epoch * 7 + slot.length) % 50) }));
    const s = await open(await b.fresh());
    expect(await s.insert(shuffled(rows))).toEqual({ inserted: rows.length, duplicates: 0, conflicts: [] });
    const want = (f: (x: StoredReading) => boolean, limit = 10_000): StoredReading[] => sorted(rows.filter(f)).slice(0, limit);
    expect(await s.query({})).toEqual(want(() => true));
    expect((await s.query({})).map((x) => x.slot).slice(0, 4 * 6).filter((v, i, a) => a.indexOf(v) === i)).toEqual(['B', 'a', 'a-2', 'b']);
    expect(await s.query({ gateway: G2 })).toEqual(want((x) => x.gateway === G2));
    expect(await s.query({ slot: 'a' })).toEqual(want((x) => x.slot === 'a'));
    expect(await s.query({ gateway: G3, slot: 'B' })).toEqual(want((x) => x.gateway === G3 && x.slot === 'B'));
    expect(await s.query({ sinceMs: 1020 })).toEqual(want((x) => x.ts >= 1020));
    expect(await s.query({ untilMs: 1020 })).toEqual(want((x) => x.ts < 1020));
    expect(await s.query({ sinceMs: 1010, untilMs: 1030, slot: 'b' })).toEqual(want((x) => x.ts >= 1010 && x.ts < 1030 && x.slot === 'b'));
    expect(await s.query({ limit: 7 })).toEqual(want(() => true, 7));
    expect(await s.query({ gateway: G1, limit: 1 })).toEqual(want((x) => x.gateway === G1, 1));
    expect(await s.query({ sinceMs: 5000 })).toEqual([]);
    for (const limit of [0, -1, 1.5, 1_000_001, Number.NaN]) await expect(s.query({ limit })).rejects.toMatchObject({ code: CollectorCode.STORE_INVALID });
    await expect(s.query({ gateway: new Uint8Array(31) })).rejects.toMatchObject({ code: CollectorCode.STORE_INVALID });
  });

  test('revoke() takes a scope out of view at once and purge() deletes it; other gateways and slots untouched; recorded once', async () => {
    const s = await open(await b.fresh());
    const slots = ['s1', 's2', 's3'];
    await s.insert([G1, G2].flatMap((gateway) => slots.flatMap((slot) => range(0, 5).map((seq) => r({ gateway, slot, seq, ts: 1_000 + seq })))));
    const R1 = new Uint8Array(32).fill(0xe1);
    const R2 = new Uint8Array(32).fill(0xe2);
    const entry = (gateway: Uint8Array, n: number): AuditEntry => ({ at: n, gateway, event: 'revoke.applied', detail: { n } });
    /** SQLite also erases what it deleted from its files (revocation-erased.test.ts); PostgreSQL does not say. */
    const erased = b.name === 'sqlite' ? { erased: true } : {};
    /** The entry purge() writes with its last chunk. */
    const done = (gateway: Uint8Array) => (deleted: number): AuditEntry => ({ at: 100, gateway, event: 'revoke.deleted', detail: { deleted } });
    expect(await s.revoke({ revocation: R1, gateway: G1, slots: ['s1', 's3', 'nope'] }, entry(G1, 1))).toBe(true);
    // Recorded, not yet deleted: nothing of the scope is served, by any read.
    const shown = async () => ({
      query: (await s.query({ limit: 100 })).map((x) => `${hex(x.gateway).slice(0, 2)}/${x.slot}`),
      stream: (await (async () => { const out: string[] = []; for await (const x of s.stream({})) out.push(`${hex(x.gateway).slice(0, 2)}/${x.slot}`); return out; })()),
      summaries: (await s.slotSummaries()).map((x) => `${hex(x.gateway).slice(0, 2)}/${x.slot}`),
      counts: [...(await s.counts(G1)).keys()],
    });
    const g2 = ['07/s1', '07/s2', '07/s3'];
    const every = (xs: string[]) => xs.flatMap((x) => Array(5).fill(x) as string[]);
    expect(await shown()).toEqual({ query: [...every(g2), ...every(['a1/s2'])], stream: [...every(g2), ...every(['a1/s2'])], summaries: [...g2, 'a1/s2'], counts: ['s2'] });
    expect(await s.unpurged()).toEqual([{ revocation: R1, gateway: G1, slots: ['s1', 's3', 'nope'] }]);
    expect(await s.unpurged(G2)).toEqual([]);
    expect((await s.auditLog()).map((e) => e.detail)).toEqual([{ n: 1 }]);
    // The same revocation again (the gateway resent it): nothing more recorded or audited.
    expect(await s.revoke({ revocation: R1, gateway: G1, slots: ['s1'] }, entry(G1, 2))).toBe(false);
    expect(await s.auditLog()).toHaveLength(1);
    expect(await s.purge(R1, done(G1))).toEqual({ deleted: 10, finished: true, ...erased });
    expect(await s.unpurged()).toEqual([]);
    expect(await s.purge(R1, done(G1))).toEqual({ deleted: 10, finished: false, ...erased });
    expect((await s.auditLog()).map((e) => [e.event, e.detail])).toEqual([['revoke.applied', { n: 1 }], ['revoke.deleted', { deleted: 10 }]]);
    expect(await s.query({ gateway: G1, limit: 100 })).toHaveLength(5);
    // A whole gateway.
    expect(await s.revoke({ revocation: R2, gateway: G2 }, entry(G2, 3))).toBe(true);
    expect(await s.query({ gateway: G2 })).toEqual([]);
    expect(await s.purge(R2, done(G2))).toEqual({ deleted: 15, finished: true, ...erased });
    expect(await s.counts(G2)).toEqual(new Map());
    expect(await s.counts(G1)).toEqual(new Map([['s2', 5]]));
    // Readings stored after the deletion are a new consent's (a later grant): shown, and not deleted by the old revocation sent again.
    expect(await s.insert([r({ gateway: G2, slot: 's1', seq: 0 })])).toEqual({ inserted: 1, duplicates: 0, conflicts: [] });
    expect(await s.revoke({ revocation: R2, gateway: G2 }, entry(G2, 4))).toBe(false);
    expect(await s.purge(R2, done(G2))).toEqual({ deleted: 15, finished: false, ...erased });
    expect(await s.counts(G2)).toEqual(new Map([['s1', 1]]));
    // Refused: a revocation never recorded, a bad id, slots not a list.
    await expect(s.purge(new Uint8Array(32).fill(0xe3), done(G1))).rejects.toMatchObject({ code: CollectorCode.STORE_INVALID });
    await expect(s.revoke({ revocation: new Uint8Array(31), gateway: G1 }, entry(G1, 5))).rejects.toMatchObject({ code: CollectorCode.STORE_INVALID });
    await expect(s.revoke({ revocation: R2, gateway: G1, slots: 's1' as unknown as string[] }, entry(G1, 6))).rejects.toMatchObject({ code: CollectorCode.STORE_INVALID });
    // An empty slot list (a whole grant never accepted here): recorded, hides and deletes nothing.
    const none = new Uint8Array(32).fill(0xe4);
    expect(await s.revoke({ revocation: none, gateway: G2, slots: [] }, entry(G2, 7))).toBe(true);
    expect(await s.counts(G2)).toEqual(new Map([['s1', 1]]));
    expect(await s.purge(none, done(G2))).toEqual({ deleted: 0, finished: true, ...erased });
    expect((await s.auditLog(G2)).filter((e) => e.event === 'revoke.deleted').map((e) => e.detail)).toEqual([{ deleted: 15 }, { deleted: 0 }]);
    expect(await s.counts(G2)).toEqual(new Map([['s1', 1]]));
  });

  test('deleteBefore: one gateway\'s readings stamped before the cut-off, the cut-off itself kept; bad cut-offs refused', async () => {
    const s = await open(await b.fresh());
    const t0 = 1_780_000_000_000;
    await s.insert([G1, G2].flatMap((gateway) => range(0, 10).map((seq) => r({ gateway, seq, ts: t0 + seq * 1000 }))));
    expect(await s.deleteBefore(G1, t0 + 4000)).toBe(4);
    expect((await s.query({ gateway: G1 })).map((x) => x.seq)).toEqual(range(4, 6));
    expect(await s.counts(G2)).toEqual(new Map([['tty-1', 10]]));
    expect(await s.deleteBefore(G1, t0 + 4000)).toBe(0);
    expect(await s.deleteBefore(G3, Number.MAX_SAFE_INTEGER)).toBe(0);
    for (const bad of [1.5, Number.NaN, 2 ** 53]) await expect(s.deleteBefore(G1, bad)).rejects.toMatchObject({ code: CollectorCode.STORE_INVALID });
    await expect(s.deleteBefore(new Uint8Array(3), 0)).rejects.toMatchObject({ code: CollectorCode.STORE_INVALID });
  });

  test('audit entries round-trip, oldest first, per gateway or all', async () => {
    const s = await open(await b.fresh());
    const entries: AuditEntry[] = [
      { at: 1_780_000_000_002, gateway: G1, event: 'grant.accepted', detail: { grant: 'ab'.repeat(32), scope: [{ slot: 'tty-1' }], n: 3, ok: true, none: null } },
      { at: 1_780_000_000_001, gateway: G2, event: 'grant.refused', detail: { code: 'REVOKED', reason: 'über "quoted" \u0000 nul and ☃' } },
      { at: 1_780_000_000_003, gateway: G1, event: 'revoke.applied', detail: {} },
    ];
    for (const e of entries) await s.audit(e);
    expect(await s.auditLog()).toEqual(entries);
    expect(await s.auditLog(G1)).toEqual([entries[0], entries[2]]);
    expect(await s.auditLog(G3)).toEqual([]);
    await expect(s.audit({ at: 1, gateway: G1, event: 'x', detail: { big: 1n } as unknown as Record<string, unknown> })).rejects.toMatchObject({ code: CollectorCode.STORE_INVALID });
    await expect(s.audit({ at: 1, gateway: G1, event: '', detail: {} })).rejects.toMatchObject({ code: CollectorCode.STORE_INVALID });
    expect(await s.auditLog()).toHaveLength(3);
  });

  test('the console\'s reads: newest-first queries (returned ascending), slot summaries, recent audit newest first', async () => {
    const s = await open(await b.fresh());
    await s.insert([...range(0, 30).map((seq) => r({ seq, epoch: 1 })), ...range(0, 5).map((seq) => r({ seq, epoch: 2, ts: 1_790_000_000_000 + seq })), r({ seq: 3, slot: 'tty-2', ts: 5 }), r({ seq: 9, gateway: G2 })]);
    // The newest 4 of tty-1 by (epoch, seq): epoch 2's last four, oldest of them first.
    expect((await s.query({ gateway: G1, slot: 'tty-1', limit: 4, newest: true })).map((x) => [x.epoch, x.seq])).toEqual([[2, 1], [2, 2], [2, 3], [2, 4]]);
    expect((await s.query({ gateway: G1, slot: 'tty-1', limit: 3 })).map((x) => x.seq)).toEqual([0, 1, 2]);
    expect((await s.query({ gateway: G1, slot: 'tty-1', sinceMs: 1_790_000_000_003, limit: 100, newest: true })).map((x) => x.seq)).toEqual([3, 4]);
    await expect(s.query({ newest: 'yes' as unknown as boolean })).rejects.toMatchObject({ code: CollectorCode.STORE_INVALID });
    const sums = (await s.slotSummaries()).map((x) => [hex(x.gateway).slice(0, 2), x.slot, x.readings, x.newestTs]);
    expect(sums).toEqual(
      [
        ['07', 'tty-1', 1, 1_780_000_000_009],
        ['a1', 'tty-1', 35, 1_790_000_000_004],
        ['a1', 'tty-2', 1, 5],
      ],
    );
    // valueMaxBytes: a longer value is not read, its length is said; shorter ones come whole.
    await s.insert([r({ seq: 100, slot: 'big', value: new Uint8Array(5000).fill(7) }), r({ seq: 101, slot: 'big', value: Uint8Array.of(1, 2, 3) })]);
    const big = await s.query({ gateway: G1, slot: 'big', valueMaxBytes: 4096 });
    expect(big.map((x) => [x.seq, x.value.length, x.omittedBytes])).toEqual([[100, 0, 5000], [101, 3, undefined]]);
    expect((await s.query({ gateway: G1, slot: 'big' })).map((x) => x.value.length)).toEqual([5000, 3]);
    await expect(s.query({ valueMaxBytes: -1 })).rejects.toMatchObject({ code: CollectorCode.STORE_INVALID });
    for (let i = 0; i < 5; i++) await s.audit({ at: i, gateway: i % 2 === 0 ? G1 : G2, event: `e${i}`, detail: { i } });
    expect((await s.recentAudit(3)).map((e) => e.event)).toEqual(['e4', 'e3', 'e2']);
    expect((await s.recentAudit(100)).map((e) => e.detail.i)).toEqual([4, 3, 2, 1, 0]);
    for (const bad of [0, -1, 1.5, 1_000_001]) await expect(s.recentAudit(bad)).rejects.toMatchObject({ code: CollectorCode.STORE_INVALID });
    expect(await (await open(await b.fresh())).slotSummaries()).toEqual([]);
  });

  test('what insert() resolved is there after close() and reopen', async () => {
    const spec = await b.fresh();
    const rows = range(0, 50).map((seq) => r({ seq, epoch: 4 }));
    const s1 = await openStore(spec);
    await s1.insert(rows);
    await s1.audit({ at: 5, gateway: G1, event: 'grant.accepted', detail: { n: 1 } });
    await s1.close();
    await expect(s1.insert(rows)).rejects.toMatchObject({ code: CollectorCode.STORE_CLOSED });
    await expect(s1.query({})).rejects.toMatchObject({ code: CollectorCode.STORE_CLOSED });
    await s1.close(); // twice is harmless
    const s2 = await open(spec);
    expect(s2.kind).toBe(b.name);
    expect(await s2.query({})).toEqual(rows);
    expect(await s2.positions(G1)).toEqual(new Map([['tty-1', { epoch: 4, seq: 49 }]]));
    expect(await s2.auditLog()).toEqual([{ at: 5, gateway: G1, event: 'grant.accepted', detail: { n: 1 } }]);
    expect(await s2.insert(rows)).toEqual({ inserted: 0, duplicates: 50, conflicts: [] });
  });

  test('a batch of 20,000 readings (more bind parameters than PostgreSQL takes in one statement) in one insert()', async () => {
    expect(20_000 * 8).toBeGreaterThan(MAX_PARAMS);
    expect(CHUNK_ROWS * 8).toBeLessThanOrEqual(MAX_PARAMS);
    const rows = shuffled(range(0, 20_000).map((seq) => r({ seq, slot: `s${seq % 3}`, value: new Uint8Array(16).fill(seq & 0xff) })));
    const s = await open(await b.fresh());
    expect(await s.insert(rows)).toEqual({ inserted: 20_000, duplicates: 0, conflicts: [] });
    expect(await s.insert(rows)).toEqual({ inserted: 0, duplicates: 20_000, conflicts: [] });
    expect(await s.counts(G1)).toEqual(new Map([['s0', 6667], ['s1', 6667], ['s2', 6666]]));
    expect(await s.query({ limit: 20_000 })).toEqual(sorted(rows));
  });

  test('concurrent insert() calls over overlapping readings, in opposite orders, neither deadlock nor lose or double a row', async () => {
    const s = await open(await b.fresh());
    // Six batches of 1,500, each overlapping the next by 1,000; every other one reversed.
    const batches = range(0, 6).map((k) => {
      const rows = range(k * 500, 1500).flatMap((seq) => [r({ seq }), r({ seq, slot: 'tty-2' })]);
      return k % 2 === 0 ? rows : rows.reverse();
    });
    const results = await Promise.all(batches.map((x) => s.insert(x)));
    const unique = (5 * 500 + 1500) * 2;
    expect(results.reduce((n, x) => n + x.inserted, 0)).toBe(unique);
    expect(results.reduce((n, x) => n + x.inserted + x.duplicates, 0)).toBe(6 * 3000);
    expect(await s.counts(G1)).toEqual(new Map([['tty-1', unique / 2], ['tty-2', unique / 2]]));
    expect((await s.query({ slot: 'tty-2' })).map((x) => x.seq)).toEqual(range(0, unique / 2));
  });

  test('a batch with one bad reading is refused whole (typed), nothing of it stored', async () => {
    const s = await open(await b.fresh());
    const bad: Partial<StoredReading>[] = [
      { gateway: new Uint8Array(31) },
      { slot: '' },
      { slot: 'a\u0000b' },
      { slot: 'lone \ud800 surrogate' },
      { device: 'x'.repeat(1025) },
      { seq: -1 },
      { seq: 1.5 },
      { seq: 2 ** 53 },
      { epoch: Number.NaN },
      { ts: Number.POSITIVE_INFINITY },
      { value: 'text' as unknown as Uint8Array },
    ];
    for (const fields of bad) {
      await expect(s.insert([r({ seq: 7 }), { ...r({ seq: 8 }), ...fields }]), JSON.stringify(fields)).rejects.toMatchObject({ code: CollectorCode.STORE_INVALID, fault: 'local' });
    }
    expect(await s.query({})).toEqual([]);
    expect(await s.insert([r({ seq: 7, slot: 'ok 😀 pair' })])).toEqual({ inserted: 1, duplicates: 0, conflicts: [] });
  });
});

const fixture = fileURLToPath(new URL('./fixtures/sqlite-writer.mjs', import.meta.url));
const built = fileURLToPath(new URL('../../dist/collector/store/sqlite.js', import.meta.url));

describe('SqliteStore', () => {
  it('after the writing process is SIGKILLed mid-stream, every batch whose insert() resolved is there, and no part of another', async () => {
    expect(existsSync(built), 'build first: npm run build --silent').toBe(true);
    const file = join(dir, 'killed.db');
    const batch = 50;
    const child = spawnNode([fixture, file, String(batch)]);
    const target = 40 * batch - 1; // the last seq of the 40th batch
    // Waits on the child's own output, not on time: kill once it has said `target` is durable.
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (child.stdout().includes(`durable ${target}\n`)) resolve();
      };
      child.proc.stdout!.on('data', check);
      void child.exited.then(() => reject(new Error(`writer exited early: ${child.stderr()}`)));
    });
    await stopProcess(child, 'SIGKILL');
    const said = [...child.stdout().matchAll(/durable (\d+)\n/g)].map((m) => Number(m[1]));
    const durable = Math.max(...said);
    expect(durable).toBeGreaterThanOrEqual(target);
    const s = await open(file);
    const n = (await s.counts(new Uint8Array(32).fill(0x5a))).get('tty-1') ?? 0;
    expect(n).toBeGreaterThan(durable);
    expect(n % batch).toBe(0); // one transaction per batch: whole or absent
    const seqs = (await s.query({ limit: 1_000_000 })).map((x) => x.seq);
    expect(seqs).toEqual(range(0, n));
  });

  it('a path it cannot open gives STORE_UNREACHABLE naming the file and the fix', async () => {
    const missing = join(dir, 'no-such-dir', 'c.db');
    await expect(openStore(missing)).rejects.toMatchObject({ code: CollectorCode.STORE_UNREACHABLE, message: expect.stringContaining(missing) });
    await expect(openStore(missing)).rejects.toThrow(/--db/);
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, Buffer.alloc(8192, 0x41));
    await expect(openStore(junk)).rejects.toMatchObject({ code: CollectorCode.STORE_UNREACHABLE, message: expect.stringContaining(junk) });
    await expect(openStore('  ')).rejects.toMatchObject({ code: CollectorCode.STORE_UNREACHABLE });
  });
});

describe.skipIf(pgSkip !== undefined)('PostgresStore', () => {
  beforeAll(async () => {
    await pgCluster();
  });

  it('postgres:// and postgresql:// both name PostgreSQL', async () => {
    const url = await cluster!.createDatabase();
    expect((await open(url)).kind).toBe('postgres');
    expect((await open(url.replace(/^postgres:/, 'postgresql:'))).kind).toBe('postgres');
  });

  it('nothing listening at the URL: STORE_UNREACHABLE at once, naming host:port and --db, never the password', async () => {
    const port = await freeLoopbackPort();
    const err = await openStore(`postgres://collector:s3cret-pw@127.0.0.1:${port}/readings`).then(
      () => undefined,
      (e: unknown) => e as Error & { code: string },
    );
    expect(err).toMatchObject({ code: CollectorCode.STORE_UNREACHABLE, fault: 'local' });
    expect(err!.message).toContain(`127.0.0.1:${port}/readings`);
    expect(err!.message).toContain('--db');
    expect(err!.message).not.toContain('s3cret-pw');
  });

  it('the server going away under an open store: typed STORE_UNREACHABLE on the next insert, no crash', async () => {
    // A cluster of its own: this test stops it.
    const own = await startPostgres();
    try {
      const s = await open(own.url);
      expect(await s.insert([r({ seq: 1 })])).toEqual({ inserted: 1, duplicates: 0, conflicts: [] });
      // Fast shutdown terminates the pool's idle connection: an 'error' the store must absorb.
      await own.stop();
      await expect(s.insert([r({ seq: 2 })])).rejects.toMatchObject({ code: CollectorCode.STORE_UNREACHABLE, message: expect.stringContaining(`127.0.0.1:${own.port}`) });
    } finally {
      await own.stop();
    }
  });

  it("a checked-out connection that errors (the server killed it) does not crash the process", async () => {
    const url = await cluster!.createDatabase();
    const s = await open(url);
    // pg emits 'error' on a client the pool has handed out when its connection ends (a server
    // restart, an admin's pg_terminate_backend); pg-pool listens only while a client is idle, so
    // without the store's own listener that 'error' is an uncaught exception (vitest fails the run).
    // Emitted here as pg would, on the client an insert's transaction holds (its BEGIN in flight).
    const pool = (s as unknown as { pool: { connect: () => Promise<{ emit: (e: string, x: Error) => boolean }> } }).pool;
    const connect = pool.connect.bind(pool);
    let heard: boolean | undefined;
    pool.connect = async () => {
      const c = await connect();
      setImmediate(() => (heard = c.emit('error', new Error('terminating connection due to administrator command'))));
      return c;
    };
    expect(await s.insert([r({ seq: 1 })])).toEqual({ inserted: 1, duplicates: 0, conflicts: [] });
    expect(heard).toBe(true);
    pool.connect = connect;
    // The client was released as broken: the next insert takes a fresh connection.
    expect(await s.insert([r({ seq: 2 })])).toEqual({ inserted: 1, duplicates: 0, conflicts: [] });
  });

  it('a database that does not exist: STORE_REFUSED saying what to check', async () => {
    const c = await pgCluster();
    await expect(openStore(`postgres://uzp@127.0.0.1:${c.port}/no_such_db`)).rejects.toMatchObject({
      code: CollectorCode.STORE_REFUSED,
      message: expect.stringMatching(/no_such_db.*user, password and database name/),
    });
  });
});
