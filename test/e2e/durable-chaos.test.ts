// Issue #12 acceptance, with real processes: numbered lines (the device's own sequence numbers)
// flow from two serial-line slots through the gateway's reading log and an outbound publishing
// session to a collector, while the gateway is SIGKILLed and restarted 3 times, the collector 3
// times and the RN carrying the publishing session 3 times. Afterwards the database holds every
// reading the gateway read, each once: per slot and boot epoch the gateway's seqs run from 0 with
// no gap, nothing is stored twice, and the gateway has nothing left unreceipted. Run against SQLite
// and a throwaway PostgreSQL cluster. Then a 2-minute collector outage is backfilled, and the
// log's byte bound drops the oldest readings and counts exactly what it dropped.
// Durability is "full" here: a SIGKILL of a "batch" gateway may lose its last uncommitted batch
// (<= batch_ms), the loss window docs/CONFIG.md states for it.

import { afterAll, describe, expect, it } from 'vitest';
import { signalProcess } from '../helpers/processes.js';
import { postgresUnavailable, startPostgres, type PgCluster } from '../helpers/postgres.js';
import { duplicates, linesOf, PUBLISHED_SLOTS, PublishRig, seqGaps, until, type StoredRow } from '../helpers/publish-rig.js';

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Writes numbered lines to every slot until stopped; resolves when the last write is done. */
function keepWriting(rig: PublishRig, gapMs: number): { stop: () => Promise<void> } {
  let running = true;
  const loops = PUBLISHED_SLOTS.map(async (slot) => {
    while (running) await rig.writeLines(slot, 1, gapMs);
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Waits until the collector holds the last line written to every slot, and nothing is left unreceipted. */
async function settled(rig: PublishRig, timeoutMs = 60_000): Promise<StoredRow[]> {
  await until(
    'nothing unreceipted',
    async () => {
      const s = (await rig.status()) as { publish?: { unreceipted: number }[]; reading_log?: { pending: number } };
      return s.publish?.[0]?.unreceipted === 0 && s.reading_log?.pending === 0 ? true : undefined;
    },
    timeoutMs,
  );
  return until('every slot\'s last line stored', async () => {
    const rows = await rig.stored();
    return PUBLISHED_SLOTS.every((slot) => linesOf(rows, slot).includes(rig.written.get(slot)! - 1)) ? rows : undefined;
  }, timeoutMs);
}

/** The checks every run ends with: each reading once, no gap in any epoch, and what the lines say. */
function expectEveryReadingOnce(rows: readonly StoredRow[], rig: PublishRig, gatewayStarts: number): { perSlot: Record<string, number>; linesLost: Record<string, number> } {
  expect(duplicates(rows)).toBe(0);
  const perSlot: Record<string, number> = {};
  const linesLost: Record<string, number> = {};
  for (const slot of PUBLISHED_SLOTS) {
    expect(seqGaps(rows, slot), slot).toEqual({});
    const epochs = new Set(rows.filter((r) => r.slot === slot).map((r) => r.epoch));
    expect(epochs.size, `${slot}: one boot epoch per gateway start`).toBe(gatewayStarts);
    const lines = linesOf(rows, slot);
    // A line is read once: no device number twice (a reading resent after a crash is the same row).
    expect(new Set(lines).size, `${slot}: a device line stored twice`).toBe(lines.length);
    perSlot[slot] = lines.length;
    // Lines written while no gateway held the port open are not readings of any gateway (the tty discards them).
    linesLost[slot] = rig.written.get(slot)! - lines.length;
  }
  return { perSlot, linesLost };
}

const pgSkip = postgresUnavailable();
const clusters: PgCluster[] = [];
afterAll(async () => {
  for (const c of clusters) await c.stop();
});

describe.each([
  ['SQLite', async (): Promise<string | undefined> => undefined],
  [
    'PostgreSQL',
    async (): Promise<string | undefined> => {
      const c = await startPostgres();
      clusters.push(c);
      return c.url;
    },
  ],
] as const)('zero loss under kill -9 of gateway, collector and RN (%s)', (name, database) => {
  it.skipIf(name === 'PostgreSQL' && pgSkip !== undefined)(`3 gateway, 3 collector and 3 RN kills: every reading the gateway read is stored once (${name})`, async () => {
    const db = await database();
    const rig = await PublishRig.create({ rns: 2, durability: 'full', ...(db !== undefined ? { db } : {}) });
    try {
      await rig.startCollector();
      await rig.startGateway();
      const writer = keepWriting(rig, 10);
      const kills = { gateway: 0, collector: 0, rn: 0 };
      for (let round = 0; round < 3; round++) {
        await pause(1200);
        signalProcess(rig.gateway!, 'SIGKILL');
        await rig.gateway!.exited;
        kills.gateway++;
        await rig.startGateway();
        await pause(1200);
        signalProcess(rig.collector!, 'SIGKILL');
        await rig.collector!.exited;
        kills.collector++;
        await pause(300);
        await rig.startCollector();
        await pause(1200);
        await rig.killRn(await until('a publishing session', async () => rig.activeRn().catch(() => undefined)));
        kills.rn++;
      }
      await pause(1000);
      await writer.stop();
      const rows = await settled(rig);
      const r = expectEveryReadingOnce(rows, rig, 4);
      console.log(JSON.stringify({ db: name, kills, stored: r.perSlot, written: Object.fromEntries(rig.written), lines_lost_while_no_gateway_read: r.linesLost }));
      // Lines are only ever lost while the gateway is down: 3 restarts at 10 ms a line cannot cost more than a few hundred.
      for (const slot of PUBLISHED_SLOTS) expect(r.perSlot[slot]!).toBeGreaterThan(rig.written.get(slot)! * 0.5);
    } finally {
      await rig.close();
    }
  }, 180_000);
});

describe('outages and the byte bound (SQLite)', () => {
  it('a 2-minute collector outage is backfilled, each reading once', async () => {
    const rig = await PublishRig.create({ durability: 'batch' });
    try {
      await rig.startCollector();
      await rig.startGateway();
      await Promise.all(PUBLISHED_SLOTS.map((s) => rig.writeLines(s, 20)));
      await settled(rig);
      signalProcess(rig.collector!, 'SIGKILL');
      await rig.collector!.exited;
      const t0 = Date.now();
      const writer = keepWriting(rig, 40);
      await pause(120_000);
      await writer.stop();
      const outageMs = Date.now() - t0;
      await rig.startCollector();
      const rows = await settled(rig, 90_000);
      const r = expectEveryReadingOnce(rows, rig, 1);
      // The gateway never stopped: every line written is a reading, stored once.
      expect(r.linesLost).toEqual(Object.fromEntries(PUBLISHED_SLOTS.map((s) => [s, 0])));
      console.log(JSON.stringify({ outage_ms: outageMs, stored: r.perSlot }));
    } finally {
      await rig.close();
    }
  }, 300_000);

  it('past its byte bound the log drops the oldest unpublished readings and counts exactly what it dropped', async () => {
    const rig = await PublishRig.create({ durability: 'batch', maxMb: 1 });
    try {
      await rig.startGateway();
      // No collector yet: ~2.4 MB of readings against a 1 MiB bound.
      const filler = 'x'.repeat(800);
      for (let chunk = 0; chunk < 15; chunk++) for (const slot of PUBLISHED_SLOTS) await rig.writeLines(slot, 100, 0, filler);
      const st = await until('the log dropped readings', async () => {
        const s = (await rig.status()) as { reading_log?: { dropped: Record<string, number>; bytes: number; max_bytes: number; pending: number } };
        const l = s.reading_log;
        return l !== undefined && l.pending === 0 && Object.keys(l.dropped).length === 2 ? l : undefined;
      });
      expect(st.bytes).toBeLessThanOrEqual(st.max_bytes);
      await rig.startCollector();
      const kept = PUBLISHED_SLOTS.reduce((n, slot) => n + 1500 - (st.dropped[slot] ?? 0), 0);
      const rows = await until('the readings the bound kept, stored', async () => {
        const x = await rig.stored();
        return x.length >= kept ? x : undefined;
      });
      expect(rows.length).toBe(kept);
      expect(duplicates(rows)).toBe(0);
      for (const slot of PUBLISHED_SLOTS) {
        const seqs = rows.filter((x) => x.slot === slot).map((x) => x.seq).sort((a, b) => a - b);
        // Exactly the oldest are gone, and exactly as many as the status says.
        expect(seqs[0], slot).toBe(st.dropped[slot]);
        const max = seqs[seqs.length - 1]!;
        expect(seqs, slot).toEqual([...Array(max + 1 - st.dropped[slot]!).keys()].map((i) => i + st.dropped[slot]!));
        expect(max + 1, `${slot}: every line written is a reading`).toBe(1500);
      }
      const audit = rig.gateway!.stdout().split('\n').filter((l) => l.includes('"action":"reading_log.dropped"'));
      expect(audit.length).toBeGreaterThan(0);
    } finally {
      await rig.close();
    }
  }, 120_000);
});
