// What the collector's console makes of its database (src/collector/console-source.ts), over a real
// SQLite store behind the ObservedStore: the fleet from readings, audit trail and live sessions; a
// gateway's slots from its last announcement (quiet when nothing came for QUIET_MS); a slot's newest
// readings with their plotted numbers; audit lines for people; live events only for what was
// committed (a window stored again is not shown twice).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { auditLine, CollectorConsole, QUIET_MS, SUMMARY_TTL_MS } from '../../src/collector/console-source.js';
import { POINT_VALUE_MAX_BYTES, SLOT_ANSWER_MAX_BYTES } from '../../src/console/point-budget.js';
import { Purges } from '../../src/collector/purges.js';
import { ObservedStore } from '../../src/collector/store/observed.js';
import { SqliteStore } from '../../src/collector/store/sqlite.js';
import type { RevocationScope, StoredReading } from '../../src/collector/store/store.js';
import type { ConsoleEvent } from '../../src/console/model.js';
import { encodeCanonical } from '../../src/uzp/cbor.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-colcon-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const G1 = new Uint8Array(32).fill(0x11);
const G2 = new Uint8Array(32).fill(0x22);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const T0 = 1_790_000_000_000;
const reading = (seq: number, o: Partial<StoredReading> = {}): StoredReading => ({ gateway: G1, slot: 'tty-1', device: 'sensor-7', kind: 'line', epoch: 1, seq, ts: T0 + seq * 1000, value: encodeCanonical({ line: `T=${20 + seq}.5` }), ...o });

/** A revocation of `slots` of G1 recorded, as the intake records one. */
async function revoked(store: ObservedStore, slots: string[]): Promise<RevocationScope> {
  const scope = { revocation: new Uint8Array(32).fill(0x7a), gateway: G1, slots };
  await store.revoke(scope, { at: T0, gateway: G1, event: 'revoke.applied', detail: { grant: 'ab'.repeat(32), slots } });
  return scope;
}

async function setup(now: number) {
  const store = new ObservedStore(SqliteStore.open(join(dir, `${Math.random()}.db`)));
  const live: { gateway: Uint8Array; rn?: Uint8Array }[] = [];
  const con = await CollectorConsole.open(store, () => live, () => now);
  const events: ConsoleEvent[] = [];
  con.subscribe((e) => events.push(e));
  return { store, live, con, events };
}

describe('CollectorConsole', () => {
  it('builds the fleet and a gateway view from readings, the last accepted announcement and the live sessions', async () => {
    const { store, live, con } = await setup(T0 + 10_000);
    await store.audit({
      at: T0,
      gateway: G1,
      event: 'grant.accepted',
      detail: { grant: 'ab'.repeat(32), action: 'new', board: 'rpi-4b', name: 'boiler room', catalogue: [{ slot: 'tty-1', device: 'sensor-7', kind: 'line', driver: 'serial-line' }, { slot: 'rs485-1', device: 'bus-1', kind: 'modbus', driver: 'modbus-poller' }], dropped: { 'tty-1': 2, 'rs485-1': 1 }, expires_at: new Date(T0 + 3 * 86400e3).toISOString() },
    });
    await store.audit({ at: T0, gateway: G2, event: 'grant.refused', detail: { code: 'DISCOVERY_POLICY', reason: 'the grant does not allow telemetry.analytics' } });
    await store.insert([0, 1, 2].map((s) => reading(s)));
    live.push({ gateway: G1, rn: new Uint8Array(32).fill(0xee) });
    const fleet = await con.fleet();
    expect(fleet.map((g) => g.cid)).toEqual([hex(G1), hex(G2)]);
    expect(fleet[0]).toMatchObject({ name: 'boiler room', board: 'rpi-4b', connected: true, rn: 'ee'.repeat(32), slots: 2, readings: 3, newestAt: T0 + 2000, dropped: 3, verdict: { status: 'not-appraised' } });
    // Three days left: within the week's warning.
    expect(fleet[0]!.expiries).toEqual([{ what: 'Discovery Grant', at: T0 + 3 * 86400e3, warn: true }]);
    expect(fleet[1]).toMatchObject({ connected: false, readings: 0, slots: 0 });
    const g = (await con.gateway(hex(G1)))!;
    expect(g.slots.map((s) => [s.slot, s.state, s.readings, s.driver])).toEqual([
      ['rs485-1', 'unknown', 0, 'modbus-poller'],
      ['tty-1', 'ok', 3, 'serial-line'],
    ]);
    expect(g.slots[1]!.last).toEqual({ line: 'T=22.5' });
    expect(g.diagnosticsNote).toMatch(/connect … ui/);
    expect(await con.gateway('33'.repeat(32))).toBeUndefined();
  });

  it('a slot with nothing for QUIET_MS is quiet, with its age said', async () => {
    const { store, con } = await setup(T0 + QUIET_MS + 120_000);
    await store.insert([reading(0)]);
    const row = (await con.gateway(hex(G1)))!.slots[0]!;
    expect(row).toMatchObject({ state: 'quiet', note: 'no reading for 7 min' });
  });

  it('a slot\'s newest readings, ascending, each with its plotted numbers', async () => {
    const { store, con } = await setup(T0);
    await store.insert([0, 1, 2, 3, 4].map((s) => reading(s)));
    const d = (await con.slot(hex(G1), 'tty-1', T0 + 1000, 2))!;
    expect(d.history).toBe('database');
    expect(d.points.map((p) => [p.seq, p.values.line])).toEqual([
      [3, 23.5],
      [4, 24.5],
    ]);
    expect(await con.slot(hex(G1), 'nope', 0, 10)).toBeUndefined();
  });

  it('values over POINT_VALUE_MAX_BYTES are not read nor sent live; an answer carries at most SLOT_ANSWER_MAX_BYTES of values, the newest', async () => {
    const { store, con, events } = await setup(T0);
    // Before: 300 such readings of 512 KiB made a 316 MB answer, an 8 s stall and 1.5 GB of RSS.
    const big = (seq: number): StoredReading => reading(seq, { slot: 'mqtt-1', kind: 'mqtt', value: encodeCanonical({ topic: 'dump', payload: new Uint8Array(512 * 1024) }) });
    await store.insert([big(0), reading(1, { slot: 'mqtt-1' })]);
    const d = (await con.slot(hex(G1), 'mqtt-1', 0, 10))!;
    expect(d.points.map((p) => [p.seq, typeof p.value === 'string' ? p.value : 'whole'])).toEqual([
      [0, `(${big(0).value.length} bytes: too large to show here)`],
      [1, 'whole'],
    ]);
    expect(events.filter((e) => e.t === 'reading').map((e) => (e as { point: { value: unknown } }).point.value)).toEqual([`(${big(0).value.length} bytes: too large to show here)`, { line: 'T=21.5' }]);
    con.close();
    // Values just under the bound, more of them than the budget holds: the newest that fit.
    const other = await setup(T0);
    const fit = Math.floor(SLOT_ANSWER_MAX_BYTES / (POINT_VALUE_MAX_BYTES - 16));
    const near = (seq: number): StoredReading => reading(seq, { slot: 'raw-1', value: encodeCanonical({ bytes: new Uint8Array(POINT_VALUE_MAX_BYTES - 16 - 4) }) });
    await other.store.insert(Array.from({ length: fit + 50 }, (_, i) => near(i)));
    const r = (await other.con.slot(hex(G1), 'raw-1', 0, 20_000))!;
    expect(r.points.length).toBeLessThanOrEqual(fit);
    expect(r.points.at(-1)!.seq).toBe(fit + 49);
    expect(r.omittedPoints).toBe(fit + 50 - r.points.length);
    other.con.close();
  });

  it("a gateway view's newest value over POINT_VALUE_MAX_BYTES is not read: the plot's placeholder instead", async () => {
    const { store, con } = await setup(T0);
    const big = reading(1, { slot: 'mqtt-1', value: encodeCanonical({ topic: 'dump', payload: new Uint8Array(512 * 1024) }) });
    await store.insert([reading(0, { slot: 'mqtt-1' }), big]);
    const asked: (number | undefined)[] = [];
    const query = store.query.bind(store);
    store.query = (q) => (asked.push(q.valueMaxBytes), query(q));
    const row = (await con.gateway(hex(G1)))!.slots.find((s) => s.slot === 'mqtt-1')!;
    expect(row.last).toBe(`(${big.value.length} bytes: too large to show here)`);
    expect(asked).toEqual([POINT_VALUE_MAX_BYTES]);
    con.close();
  });

  it('tells each committed reading and audit line once, and a session change', async () => {
    const { store, con, events } = await setup(T0);
    await store.insert([reading(0), reading(1)]);
    await store.insert([reading(0), reading(1)]); // a window sent again: nothing new to show
    await store.insert([reading(1, { value: Uint8Array.of(0xf6) })]); // other content under a stored identity: its audit line
    expect(events.filter((e) => e.t === 'audit').map((e) => e.t === 'audit' && e.line)).toMatchObject([{ event: 'readings.conflict', refusal: true, text: 'a reading of tty-1 1/1 was sent again with a different value; the first copy is kept' }]);
    await store.audit({ at: T0, gateway: G1, event: 'readings.refused', detail: { code: 'OUT_OF_SCOPE', readings: 4 } });
    con.sessionsChanged();
    expect(events.filter((e) => e.t === 'reading')).toHaveLength(2);
    const audit = events.filter((e) => e.t === 'audit')[1];
    expect(audit).toMatchObject({ line: { event: 'readings.refused', refusal: true, code: 'OUT_OF_SCOPE', text: "4 readings outside the grant's scope were not stored" } });
    expect(events.filter((e) => e.t === 'fleet').length).toBeGreaterThanOrEqual(2);
    // A revocation: its record, then the entry its last deleted chunk wrote (store.purge()).
    await new Purges(store, pino({ level: 'silent' }), () => T0).finish(await revoked(store, ['tty-1']));
    expect(events.filter((e) => e.t === 'audit').slice(2).map((e) => e.t === 'audit' && e.line.event)).toEqual(['revoke.applied', 'revoke.deleted']);
    // An observer that throws does not fail the write it watches.
    con.subscribe(() => {
      throw new Error('a broken view');
    });
    await expect(store.insert([reading(5)])).resolves.toEqual({ inserted: 1, duplicates: 0, conflicts: [] });
    con.close();
  });

  it('reads the slot summaries (a scan of every reading) at most once per SUMMARY_TTL_MS, however many views ask', async () => {
    const { store, con } = await setup(T0);
    await store.insert([reading(0)]);
    let scans = 0;
    const inner = store.slotSummaries.bind(store);
    store.slotSummaries = () => (scans++, inner());
    expect((await con.fleet())[0]!.readings).toBe(1);
    await store.insert([reading(1)]);
    await Promise.all([con.fleet(), con.fleet(), con.gateway(hex(G1))]);
    expect(scans).toBe(1);
    expect((await con.fleet())[0]!.readings).toBe(1);
  });

  it('a summary read that takes longer than SUMMARY_TTL_MS is fresh when it arrives, not read again by the next view', async () => {
    const { store, con } = await setup(T0);
    await store.insert([reading(0)]);
    let clock = 0;
    const now = vi.spyOn(performance, 'now').mockImplementation(() => clock);
    try {
      let scans = 0;
      let finish: () => void = () => {};
      const inner = store.slotSummaries.bind(store);
      store.slotSummaries = async () => {
        const v = await inner();
        if (++scans === 1) await new Promise<void>((r) => (finish = r));
        return v;
      };
      const first = con.fleet();
      await new Promise((r) => setImmediate(r));
      clock = SUMMARY_TTL_MS * 3; // the read took three TTLs
      finish();
      await first;
      clock += 1;
      await con.fleet(); // stamped when it finished: still fresh
      expect(scans).toBe(1);
    } finally {
      now.mockRestore();
    }
  });

  it('audit lines for people: refusals marked, codes and reasons carried', () => {
    const at = T0;
    expect(auditLine({ at, gateway: G1, event: 'grant.refused', detail: { code: 'REVOKED', reason: 'every slot of this grant was revoked' } })).toEqual({ at, gateway: hex(G1), event: 'grant.refused', refusal: true, code: 'REVOKED', text: 'every slot of this grant was revoked' });
    expect(auditLine({ at, gateway: G1, event: 'grant.accepted', detail: { grant: 'cd'.repeat(32), action: 'renew', expires_at: '2027-01-01T00:00:00.000Z' } }).text).toBe('Discovery Grant cdcdcdcdcdcd… accepted (renew); expires 2027-01-01T00:00:00.000Z');
    expect(auditLine({ at, gateway: G1, event: 'revoke.applied', detail: { grant: 'cd'.repeat(32), slots: ['tty-1'], deleted: 12 } })).toMatchObject({ refusal: false, text: 'consent withdrawn under grant cdcdcdcdcdcd… for tty-1; 12 readings deleted' });
    expect(auditLine({ at, gateway: G1, event: 'revoke.applied', detail: { grant: 'cd'.repeat(32), relationshipAtMs: T0, deleted: 3 } }).text).toBe('consent withdrawn for the whole relationship (grant cdcdcdcdcdcd… in force); 3 readings deleted');
    // Recorded before the deletion (the count comes in revoke.deleted).
    expect(auditLine({ at, gateway: G1, event: 'revoke.applied', detail: { grant: 'cd'.repeat(32), slots: ['tty-1'] } }).text).toBe('consent withdrawn under grant cdcdcdcdcdcd… for tty-1');
    expect(auditLine({ at, gateway: G1, event: 'revoke.deleted', detail: { revocation: 'ef'.repeat(32), slots: ['tty-1'], deleted: 12 } }).text).toBe('12 readings deleted under revocation efefefefefef… (tty-1)');
    expect(auditLine({ at, gateway: G1, event: 'grant.expired', detail: { grant: 'cd'.repeat(32) } }).refusal).toBe(true);
    expect(auditLine({ at, gateway: G1, event: 'fresh', detail: { what: 'config' } }).text).toBe('{"what":"config"}');
    // A conflict: which fields differed is all its entry keeps of the clash, and what the line says.
    const conflict = (differs: unknown) => auditLine({ at, gateway: G1, event: 'readings.conflict', detail: { slot: 'rs485-1', epoch: 3, seq: 41, differs } });
    expect(conflict(['ts'])).toMatchObject({ refusal: true, text: 'a reading of rs485-1 3/41 was sent again with a different ts; the first copy is kept' });
    expect(conflict(['ts', 'value']).text).toBe('a reading of rs485-1 3/41 was sent again with a different ts and value; the first copy is kept');
    expect(conflict(['device', 'kind', 'ts', 'value']).text).toBe('a reading of rs485-1 3/41 was sent again with a different device, kind, ts and value; the first copy is kept');
    expect(conflict(undefined).text).toBe('a reading of rs485-1 3/41 was sent again with other content; the first copy is kept');
  });
});
