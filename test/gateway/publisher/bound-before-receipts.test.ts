// Past its byte bound the reading log drops the readings no collector may receive first (CONFIG.md
// "The bound"). It learned whom it keeps readings for only from the first receipt of a run (review
// of the reading log, 2nd round, #1): until then the bound dropped the oldest of any slot, a
// collector's owed readings among them, while `uzpgw status` said the readings for no collector
// went first. A restart while every collector is away is exactly when the log fills. The gateway
// now tells the log its collectors at start. Real processes on loopback (pantheon, RN, gateway
// from dist/), as the other publish tests; the collector never comes.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../../src/uzp/bytes.js';
import { cli, PublishRig, until } from '../../helpers/publish-rig.js';

let rig: PublishRig;

beforeAll(async () => {
  rig = await PublishRig.create({ durability: 'batch', maxMb: 1 });
  // The collector's consent covers tty-1 only: tty-2 (a local console's slot, say) is no one's.
  const r = await cli('publish', 'grant', '--config', rig.at('gateway.json'), '--collector', toHex(rig.col.cid), '--slot', 'tty-1', '--purpose', 'telemetry.store', '--out', rig.at('discovery.grant'));
  if (r.code !== 0) throw new Error(`publish grant: ${r.err}`);
  await rig.startGateway();
}, 60_000);

afterAll(async () => {
  await rig?.close();
});

interface Status {
  reading_log: { dropped: Record<string, number>; pending: number; kept_for_nobody?: number; bytes: number; max_bytes: number };
  publish: { state: string; unreceipted: number; receipts: number }[];
}

describe('the byte bound before any receipt of the run', () => {
  it('drops the readings no collector may receive first, not the oldest the collector is owed', async () => {
    const filler = 'x'.repeat(800);
    // The collector's readings first (the oldest), then ~1.2 MB of no one's against a 1 MiB bound.
    await rig.writeLines('tty-1', 200, 0, filler);
    for (let chunk = 0; chunk < 15; chunk++) await rig.writeLines('tty-2', 100, 0, filler);
    const s = await until('the log dropped readings', async () => {
      const st = (await rig.status()) as unknown as Status;
      return st.reading_log.pending === 0 && (st.reading_log.dropped['tty-2'] ?? 0) > 0 ? st : undefined;
    });
    expect(s.reading_log.bytes).toBeLessThanOrEqual(s.reading_log.max_bytes);
    // Before: {"tty-1": 200, "tty-2": …}: the collector's readings went first, being the oldest.
    expect(s.reading_log.dropped).toEqual({ 'tty-2': expect.any(Number) });
    expect(s.publish[0]).toMatchObject({ receipts: 0, unreceipted: 200 });
    // What the status line says goes first past the bound (tty-2's readings still held).
    expect(s.reading_log.kept_for_nobody).toBeGreaterThan(0);
  }, 90_000);
});
