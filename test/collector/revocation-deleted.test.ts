// A revocation's deletion finishing and its audit entry `revoke.deleted` (src/collector/purges.ts,
// store.ts purge()). Before, the store marked the revocation done with its last chunk and the entry
// was written after, in a statement of its own: a crash between the two lost the entry for good,
// since only revocations not done are resumed — the readings deleted, nothing in the trail saying
// so. Now the last chunk writes the entry in its own transaction. The crash point is a real failure
// of that write (a trigger on the audit table refusing it, once), then a restart: the store opened
// again and the first retention sweep, which resumes what is left. Both stores.

import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { REVOKE_EVENT } from '../../src/collector/consents.js';
import { Purges, REVOKE_DELETED_EVENT } from '../../src/collector/purges.js';
import { Retention } from '../../src/collector/retention.js';
import { openStore } from '../../src/collector/store/open.js';
import type { RevocationScope, StoredReading } from '../../src/collector/store/store.js';
import { storeBackends, type StoreBackend } from '../helpers/store-backends.js';

const { backends, stop } = storeBackends('uzp-revdel-');
afterAll(stop);

/** Makes the next writes of a `revoke.deleted` audit entry fail (the crash point); resolves with how to undo that. */
async function refuseDeletedEntry(b: StoreBackend, spec: string): Promise<() => Promise<void>> {
  if (b.name === 'sqlite') {
    await b.sql(spec, `CREATE TRIGGER refuse_deleted BEFORE INSERT ON audit WHEN NEW.event = '${REVOKE_DELETED_EVENT}' BEGIN SELECT RAISE(ABORT, 'injected: the process died here'); END`);
    return async () => void (await b.sql(spec, 'DROP TRIGGER refuse_deleted'));
  }
  await b.sql(spec, `CREATE FUNCTION refuse_deleted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected: the process died here'; END $$;
CREATE TRIGGER refuse_deleted BEFORE INSERT ON audit FOR EACH ROW WHEN (NEW.event = '${REVOKE_DELETED_EVENT}') EXECUTE FUNCTION refuse_deleted()`);
  return async () => void (await b.sql(spec, 'DROP TRIGGER refuse_deleted ON audit;\nDROP FUNCTION refuse_deleted()'));
}

const G = new Uint8Array(32).fill(0x6d);
const SCOPE: RevocationScope = { revocation: new Uint8Array(32).fill(0x6e), gateway: G, slots: ['gone'] };
const silent = pino({ level: 'silent' });
const r = (slot: string, seq: number): StoredReading => ({ gateway: G, slot, device: 'd', kind: 'k', epoch: 1, seq, ts: 1_000 + seq, value: Uint8Array.of(seq) });

describe.each(backends)('revoke.deleted and the deletion it reports: $name', (b) => {
  it.skipIf(b.skip)('a failure writing the entry leaves the deletion unfinished; after a restart it is finished and the entry written once', async () => {
    const spec = await b.fresh();
    let s = await openStore(spec);
    await s.insert([...Array.from({ length: 10 }, (_, i) => r('gone', i)), r('keep', 0)]);
    await s.revoke(SCOPE, { at: 1, gateway: G, event: REVOKE_EVENT, detail: { grant: 'ab'.repeat(32), revocation: '6e'.repeat(32), slots: ['gone'] } });
    const allow = await refuseDeletedEntry(b, spec);
    try {
      await expect(new Purges(s, silent, () => 5).finish(SCOPE)).rejects.toThrow(/injected/);
    } finally {
      await allow();
      await s.close();
    }
    // Restarted: what Collector.create() and start() do, up to the first sweep.
    s = await openStore(spec);
    try {
      // Before: the revocation was done already, nothing to resume, and the entry never came.
      expect(await s.unpurged()).toEqual([SCOPE]);
      await (await Retention.load(s, silent, () => 7, new Purges(s, silent, () => 7))).sweep();
      expect(await s.unpurged()).toEqual([]);
      expect(await s.counts(G)).toEqual(new Map([['keep', 1]]));
      expect((await s.auditLog(G)).filter((e) => e.event === REVOKE_DELETED_EVENT)).toEqual([{ at: 7, gateway: G, event: REVOKE_DELETED_EVENT, detail: { revocation: '6e'.repeat(32), slots: ['gone'], deleted: 10 } }]);
    } finally {
      await s.close();
    }
  });
});
