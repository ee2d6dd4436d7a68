// A reading resent under a stored identity with other content (store/conflicts.ts) leaves a row in
// reading_conflicts and an audit entry `readings.conflict`. Before, the entry carried the SHA-256 of
// both values, and neither it nor the row was ever deleted: a revocation deleted the slot's readings
// and kept their digests, and a register's value (one of 65,536) is found from its digest by trying
// them all, so the collector still held what the gateway had withdrawn. Now the audit entry names
// the identity and which fields differ, nothing of the content; the copy sent again (its digest
// included) is in the conflict row, which goes in the same transaction as its reading (revocation,
// the resumed deletion of one, retention). Both stores, one suite; then a database from before.

import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/collector/store/open.js';
import type { ReadingStore, StoredReading } from '../../src/collector/store/store.js';
import { storeBackends } from '../helpers/store-backends.js';
import { revokeAndPurge } from '../helpers/store-revoke.js';

const { backends, stop } = storeBackends('uzp-conflict-');
afterAll(stop);

const G = new Uint8Array(32).fill(0x3c);
const GW = Buffer.from(G).toString('hex');
/** A Modbus register's value as the gateway logs it: a CBOR unsigned integer. */
const register = (v: number): Uint8Array => (v < 24 ? Uint8Array.of(v) : v < 256 ? Uint8Array.of(0x18, v) : Uint8Array.of(0x19, v >> 8, v & 0xff));
const reg = (slot: string, seq: number, v: number, ts: number): StoredReading => ({ gateway: G, slot, device: 'plc', kind: 'holding', epoch: 1, seq, ts, value: register(v) });
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
/** Every register value whose digest appears in `text`: what trying all 65,536 recovers. */
function recovered(text: string): number[] {
  const found: number[] = [];
  for (let v = 0; v < 65_536; v++) if (text.includes(sha(register(v)))) found.push(v);
  return found;
}

describe.each(backends)('conflicts and what revokes or ages their readings: $name', (b) => {
  const conflictRows = async (spec: string): Promise<unknown[]> =>
    (await b.sql(spec, 'SELECT gateway, slot, epoch, seq, at, sent_device, sent_kind, sent_ts, sent_sha256 FROM reading_conflicts ORDER BY slot')).map((x) => ({ ...x, epoch: Number(x.epoch), seq: Number(x.seq), at: Number(x.at), sent_ts: Number(x.sent_ts) }));
  const everything = async (s: ReadingStore, spec: string): Promise<string> => JSON.stringify([await s.auditLog(), await b.sql(spec, 'SELECT * FROM reading_conflicts')]);

  it.skipIf(b.skip)('the audit entry holds nothing of either copy; the conflict row holds the copy sent, and goes with its reading', async () => {
    const spec = await b.fresh();
    const s = await openStore(spec);
    try {
      await s.insert([reg('keep', 1, 7, 1_000), reg('reg', 1, 4660, 50_000)], 1);
      const sent = [reg('keep', 1, 7, 1_001), reg('reg', 1, 4661, 50_000)];
      const { conflicts } = await s.insert(sent, 2);
      expect(conflicts).toEqual([
        { at: 2, gateway: G, event: 'readings.conflict', detail: { slot: 'keep', epoch: 1, seq: 1, differs: ['ts'] } },
        { at: 2, gateway: G, event: 'readings.conflict', detail: { slot: 'reg', epoch: 1, seq: 1, differs: ['value'] } },
      ]);
      expect((await s.auditLog()).map((e) => e.detail)).toEqual(conflicts.map((e) => e.detail));
      // What was sent again is kept beside the reading it clashed with, for as long as that reading is.
      expect(await conflictRows(spec)).toEqual(
        sent.map((x) => ({ gateway: GW, slot: x.slot, epoch: 1, seq: 1, at: 2, sent_device: 'plc', sent_kind: 'holding', sent_ts: x.ts, sent_sha256: sha(x.value) })),
      );
      expect(recovered(await everything(s, spec))).toEqual([7, 4661]);
      // Revoked: nothing left from which either value of the slot could be found (before: the
      // audit entry's digests gave both, 4660 and 4661).
      expect(await revokeAndPurge(s, G, ['reg'])).toBe(1);
      expect(recovered(await everything(s, spec))).toEqual([7]);
      expect((await conflictRows(spec)).map((x) => (x as { slot: string }).slot)).toEqual(['keep']);
      // Aged out: its conflict row goes with it.
      expect(await s.deleteBefore(G, 2_000)).toBe(1);
      expect(await conflictRows(spec)).toEqual([]);
      expect(recovered(await everything(s, spec))).toEqual([]);
      // A copy sent again after its reading went is a new reading, not a conflict.
      expect(await s.insert([reg('keep', 1, 8, 1_000)], 3)).toEqual({ inserted: 1, duplicates: 0, conflicts: [] });
    } finally {
      await s.close();
    }
  });

  it.skipIf(b.skip)('a database from before: the audit entries lose their digests and copies, the copy sent moves to its conflict row, a revoked reading\'s row goes', async () => {
    const spec = await b.fresh();
    let s = await openStore(spec);
    await s.insert([reg('reg', 1, 4660, 50_000), reg('reg', 2, 4662, 50_002)], 1);
    await s.close();
    // The layout and entries of before: no copy in the row, both digests in the entry; seq 3's reading
    // was revoked and its row stayed.
    const copy = (v: number, ts: number): unknown => ({ device: 'plc', kind: 'holding', ts, sha256: sha(register(v)) });
    const old = (seq: number, kept: unknown, sent: unknown): string => `('${GW}', 'readings.conflict', ${seq}, '${JSON.stringify({ slot: 'reg', epoch: 1, seq, kept, sent })}')`;
    await b.sql(
      spec,
      `DROP TABLE reading_conflicts;
CREATE TABLE reading_conflicts (gateway text${b.collate} NOT NULL, slot text${b.collate} NOT NULL, epoch bigint NOT NULL, seq bigint NOT NULL, PRIMARY KEY (gateway, slot, epoch, seq));
INSERT INTO reading_conflicts VALUES ('${GW}', 'reg', 1, 1), ('${GW}', 'reg', 1, 2), ('${GW}', 'reg', 1, 3);
INSERT INTO audit (gateway, event, at, detail) VALUES ${[old(1, copy(4660, 50_000), copy(4661, 50_000)), old(2, copy(4662, 50_002), copy(4663, 9)), old(3, copy(4664, 50_004), copy(4665, 50_004))].join(', ')}`,
    );
    s = await openStore(spec);
    try {
      expect((await s.auditLog()).map((e) => [e.at, e.event, e.detail])).toEqual([
        [1, 'readings.conflict', { slot: 'reg', epoch: 1, seq: 1, differs: ['value'] }],
        [2, 'readings.conflict', { slot: 'reg', epoch: 1, seq: 2, differs: ['ts', 'value'] }],
        [3, 'readings.conflict', { slot: 'reg', epoch: 1, seq: 3, differs: ['value'] }],
      ]);
      const moved = (seq: number, v: number, ts: number): unknown => ({ gateway: GW, slot: 'reg', epoch: 1, seq, at: seq, sent_device: 'plc', sent_kind: 'holding', sent_ts: ts, sent_sha256: sha(register(v)) });
      expect(await conflictRows(spec)).toEqual([moved(1, 4661, 50_000), moved(2, 4663, 9)]);
      expect(recovered(await everything(s, spec))).toEqual([4661, 4663]);
      // From now on the rows go with their readings.
      expect(await revokeAndPurge(s, G, ['reg'])).toBe(2);
      expect(await conflictRows(spec)).toEqual([]);
      expect(recovered(await everything(s, spec))).toEqual([]);
    } finally {
      await s.close();
    }
  });
});
