// A collector process (dist/, real RN, loopback) started on a database holding a revocation whose
// deletion a crash stopped (store.ts revoke() committed, purge() not finished): its first retention
// sweep, at start, deletes the rest (purges.ts) — also when the gateway never comes back to send
// the revocation again — and audits it. Without that the rest stayed stored for good.

import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/collector/store/sqlite.js';
import { waitForJsonLine } from '../helpers/processes.js';
import { PublishRig } from '../helpers/publish-rig.js';

let rig: PublishRig | undefined;
afterAll(async () => {
  await rig?.close();
});

describe('collector start', () => {
  it('finishes the deletion of a revocation a crash left unfinished', async () => {
    rig = await PublishRig.create();
    const gateway = new Uint8Array(32).fill(0x6d);
    const r = (slot: string, seq: number) => ({ gateway, slot, device: 'd', kind: 'serial', epoch: 1, seq, ts: Date.UTC(2026, 0, 1) + seq, value: Uint8Array.of(0xf6) });
    const s = SqliteStore.open(rig.db);
    await s.insert([...Array.from({ length: 20 }, (_, i) => r('gone', i)), ...Array.from({ length: 3 }, (_, i) => r('kept', i))]);
    const revocation = new Uint8Array(32).fill(0x3c);
    await s.revoke({ revocation, gateway, slots: ['gone'] }, { at: 1, gateway, event: 'revoke.applied', detail: { grant: '00'.repeat(32), slots: ['gone'] } });
    await s.close();
    const col = await rig.startCollector();
    expect(await waitForJsonLine(col, (v) => v.event === 'revoke.deleted')).toMatchObject({ revocation: '3c'.repeat(32), deleted: 20 });
    expect((await rig.stored()).map((x) => x.slot)).toEqual(['kept', 'kept', 'kept']);
  }, 90_000);
});
