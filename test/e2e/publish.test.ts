// Issue #12, end to end with real processes: a gateway reads numbered lines from two serial-line
// slots, logs them and publishes them outbound to a collector through an RN; the collector stores
// each once into SQLite and signs a receipt per window; the gateway deletes only what receipts
// cover. Then the faults: the collector is away (killed) while lines keep coming, and the gateway
// is SIGKILLed and restarted (durability full); afterwards the database holds every line the
// gateway read, each once. Last, consent for one slot is revoked: the collector deletes its
// readings, confirms with a signed receipt, and stores no more of them.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signalProcess, stopProcess, waitForJsonLine } from '../helpers/processes.js';
import { cli, duplicates, linesOf, PublishRig, until, type StoredRow } from '../helpers/publish-rig.js';
import { toHex } from '../../src/uzp/bytes.js';

let rig: PublishRig;

beforeAll(async () => {
  rig = await PublishRig.create({ durability: 'full' });
  await rig.startCollector();
  await rig.startGateway();
}, 60_000);

afterAll(async () => {
  await rig?.close();
});

/** Waits until the collector holds lines 0..written-1 of every slot. */
async function allStored(slots: readonly string[]): Promise<StoredRow[]> {
  return until('every written line in the collector', async () => {
    const rows = await rig.stored();
    return slots.every((s) => linesOf(rows, s).length >= rig.written.get(s)!) ? rows : undefined;
  });
}

describe('publishing to a collector (issue #12)', () => {
  it('every line reaches the database once; receipts let the gateway delete what they cover', async () => {
    await Promise.all([rig.writeLines('tty-1', 200), rig.writeLines('tty-2', 100)]);
    const rows = await allStored(['tty-1', 'tty-2']);
    expect(linesOf(rows, 'tty-1')).toEqual([...Array(200).keys()]);
    expect(linesOf(rows, 'tty-2')).toEqual([...Array(100).keys()]);
    expect(duplicates(rows)).toBe(0);
    expect(rows.every((r) => r.gateway === toHex(rig.gw.cid))).toBe(true);
    // The log is trimmed to what is not receipted yet; status says how much it deleted and why.
    const st = await until('receipts applied', async () => {
      const s = (await rig.status()) as { reading_log?: { receipted: number; readings: number }; publish?: { state: string; receipts: number; unreceipted: number }[] };
      return (s.reading_log?.receipted ?? 0) >= 300 ? s : undefined;
    });
    expect(st.publish?.[0]).toMatchObject({ state: 'publishing', unreceipted: 0 });
    expect(st.publish![0]!.receipts).toBeGreaterThan(0);
  }, 60_000);

  it('a collector away (SIGKILL) while lines keep coming is backfilled when it returns', async () => {
    signalProcess(rig.collector!, 'SIGKILL');
    await rig.collector!.exited;
    await rig.writeLines('tty-1', 150, 5);
    // Nothing was lost meanwhile: the gateway holds it unreceipted (the status file is rewritten every few seconds).
    await until('unreceipted readings in status', async () => {
      const s = (await rig.status()) as { publish?: { unreceipted: number }[] };
      return (s.publish?.[0]?.unreceipted ?? 0) > 0 ? true : undefined;
    });
    await rig.startCollector();
    const rows = await allStored(['tty-1']);
    expect(linesOf(rows, 'tty-1')).toEqual([...Array(350).keys()]);
    expect(duplicates(rows)).toBe(0);
  }, 60_000);

  it('a gateway SIGKILLed and restarted loses no line it had read (durability full)', async () => {
    const writing = rig.writeLines('tty-2', 300, 3);
    await new Promise((r) => setTimeout(r, 300));
    signalProcess(rig.gateway!, 'SIGKILL');
    await rig.gateway!.exited;
    await writing;
    await rig.startGateway();
    await rig.writeLines('tty-2', 50);
    const rows = await until('the restarted gateway published', async () => {
      const r = await rig.stored();
      return linesOf(r, 'tty-2').includes(rig.written.get('tty-2')! - 1) ? r : undefined;
    });
    expect(duplicates(rows)).toBe(0);
    // Per boot epoch, the gateway's seqs are contiguous from 0: every reading it logged was stored.
    const tty2 = rows.filter((r) => r.slot === 'tty-2');
    const epochs = [...new Set(tty2.map((r) => r.epoch))].sort((a, b) => a - b);
    expect(epochs.length).toBeGreaterThanOrEqual(2);
    for (const e of epochs) {
      const seqs = tty2.filter((r) => r.epoch === e).map((r) => r.seq).sort((a, b) => a - b);
      expect(seqs, `epoch ${e}`).toEqual([...Array(seqs.length).keys()]);
    }
    // Lines written before the kill and after the restart are all there; only lines written while
    // no gateway had the port open can be missing (the tty discards them).
    const got = new Set(linesOf(rows, 'tty-2'));
    for (let n = 0; n < 100; n++) expect(got.has(n), `line ${n}`).toBe(true);
    for (let n = rig.written.get('tty-2')! - 50; n < rig.written.get('tty-2')!; n++) expect(got.has(n), `line ${n}`).toBe(true);
  }, 90_000);

  it('revoking consent for a slot: the collector deletes it, confirms with a signed receipt, stores no more of it', async () => {
    const r = await cli('publish', 'revoke', '--config', rig.at('gateway.json'), '--collector', toHex(rig.col.cid), '--slot', 'tty-1', '--json');
    expect(r.code, r.err).toBe(0);
    await waitForJsonLine(rig.collector!, (v) => v.event === 'revoke.applied');
    await rig.writeLines('tty-1', 20);
    await rig.writeLines('tty-2', 20);
    const rows = await until('tty-2 keeps flowing', async () => {
      const x = await rig.stored();
      return linesOf(x, 'tty-2').includes(rig.written.get('tty-2')! - 1) ? x : undefined;
    });
    expect(rows.filter((x) => x.slot === 'tty-1')).toEqual([]);
    await stopProcess(rig.gateway!);
    await stopProcess(rig.collector!);
  }, 60_000);
});
