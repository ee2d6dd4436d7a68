// `uzpgw gateway` and `uzpgw collector` log JSON lines on stdout. When the reader of that pipe goes
// away (`uzpgw gateway --config F | head -n1`, a log shipper that died) they stop as on SIGTERM and
// exit 141 (src/cli/output-closed.ts), with one line on stderr saying why. Before, pino dropped the
// EPIPE and made its destination a no-op: the process ran on for good, every line lost, no sign.
// Real processes (the publish rig: RN, gateway, collector on loopback); the next log line after the
// reader left is provoked (the collector's next session, the gateway's SIGHUP reload). Left
// consistent: no SQLite WAL left beside the collector's database or the reading log (a close in
// order checkpoints and removes it; a killed process leaves it), and the gateway starts again on
// its reading log, with the readings it had, and no damage reported.

import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signalProcess, waitForJsonLine, type Child } from '../helpers/processes.js';
import { cli, PublishRig, until } from '../helpers/publish-rig.js';

/** A hang guard, not a timing claim: without the fix the process never exits. */
const GUARD_MS = 20_000;

/** What an unhandled error or a bug's stack trace looks like on stderr. */
const STACK = /Unhandled|^\s+at |Error: /m;

let rig: PublishRig;

beforeAll(async () => {
  rig = await PublishRig.create();
}, 120_000);

afterAll(async () => {
  await rig?.close();
});

/** The exit of `child`, or an error with its stderr once GUARD_MS passed. */
function exit(child: Child, what: string): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} still running ${GUARD_MS} ms after its stdout closed; stderr:\n${child.stderr()}`)), GUARD_MS);
  });
  return Promise.race([child.exited, guard]).finally(() => clearTimeout(timer));
}

/** The readings the gateway's reading log holds, from `uzpgw status --json`. */
async function loggedReadings(): Promise<number> {
  const s = (await rig.status()) as { reading_log?: { readings?: number } };
  return s.reading_log?.readings ?? 0;
}

describe('the servers stop when the reader of their stdout (their log) goes away', () => {
  it('collector: stops as on SIGTERM (store closed), exit 141, one line on stderr', async () => {
    const collector = await rig.startCollector();
    expect(existsSync(`${rig.db}-wal`)).toBe(true); // while the store is open
    // The reader goes away after the lines so far, as `head` does.
    collector.proc.stdout!.destroy();
    // Its next line: the gateway opening its publishing session.
    await rig.startGateway();
    expect(await exit(collector, 'collector')).toEqual({ code: 141, signal: null });
    expect(collector.stderr().trim().split('\n')).toEqual([expect.stringMatching(/^uzpgw collector: stdout closed by its reader \(EPIPE\).*stopping as on SIGTERM, exit 141$/)]);
    expect(collector.stderr()).not.toMatch(STACK);
    // The store was closed in order: SQLite removed its WAL, and the database reads.
    expect(existsSync(`${rig.db}-wal`)).toBe(false);
    const q = await cli('collector', 'query', '--db', rig.db, '--json');
    expect(q.code, q.err).toBe(0);
  }, 120_000);

  it('gateway: stops as on SIGTERM (reading log committed and closed), exit 141; starts again on the same log', async () => {
    // No collector: nothing receipts (and deletes) the readings counted below.
    if (rig.collector !== undefined && rig.collector.proc.exitCode === null) {
      signalProcess(rig.collector, 'SIGKILL');
      await rig.collector.exited;
    }
    const gateway = rig.gateway !== undefined && rig.gateway.proc.exitCode === null ? rig.gateway : await rig.startGateway();
    await rig.writeLines('tty-1', 5);
    await until('5 readings in the reading log', async () => ((await loggedReadings()) >= 5 ? true : undefined));
    expect(existsSync(rig.at('readings.db-wal'))).toBe(true); // while the log is open
    gateway.proc.stdout!.destroy();
    // Its next line: the reload SIGHUP asks for ("artefacts.reloaded").
    signalProcess(gateway, 'SIGHUP');
    expect(await exit(gateway, 'gateway')).toEqual({ code: 141, signal: null });
    expect(gateway.stderr().trim().split('\n')).toEqual([expect.stringMatching(/^uzpgw gateway: stdout closed by its reader \(EPIPE\).*stopping as on SIGTERM, exit 141$/)]);
    expect(gateway.stderr()).not.toMatch(STACK);
    expect(existsSync(rig.at('readings.db-wal'))).toBe(false);

    const again = await rig.startGateway();
    const opened = await waitForJsonLine<{ readings: number; walDiscarded?: number }>(again, (v) => v.event === 'reading_log.opened');
    expect(opened.readings).toBeGreaterThanOrEqual(5);
    expect(opened.walDiscarded).toBeUndefined();
    expect(again.stdout()).not.toContain('reading_log.wal_damaged');
  }, 120_000);
});
