// A reading log written before its slot_cursors table (fe9908b), opened on a full card: creating
// the table is a write, which the card refuses ("database or disk is full"), and the open failed,
// so the gateway could not start and the readings the log holds were delivered to no one. It now
// opens without the table (schema.ts), delivers what it holds, and the first commit that stores a
// slot's coverage makes the table (receipt-cursors.ts): while the card stays full that commit fails
// as every commit does, and once it has room the table and the coverage are stored.
// A real full filesystem: a 1 MiB tmpfs in a user and mount namespace of the child's own (unshare
// -rm; it goes with the child, nothing to unmount), filled with a file to ENOSPC and then given
// back exactly the 32 KiB of SQLite's -shm index, which the open makes before any write.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { ReadingLog } from '../../src/gateway/reading-log/reading-log.js';
import { TOO_LARGE_INDEX } from '../../src/gateway/reading-log/schema.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-reading-log-full-card-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const card = join(dir, 'card');
mkdirSync(card);
const SHM_BYTES = 32 * 1024;

/** `sh -c script` with $1 = the card, in a user and mount namespace of its own. */
function inNamespace(script: string, ...args: string[]): ReturnType<typeof spawnSync> {
  return spawnSync('unshare', ['-rm', 'sh', '-c', `mount -t tmpfs -o size=1m tmpfs "$1" && ${script}`, 'sh', card, ...args], { encoding: 'utf8', timeout: 60_000 });
}

// Where no namespace can be made (no unshare, unprivileged user namespaces off), there is no card to fill.
const probe = inNamespace('true');
const noCard = probe.status === 0 ? undefined : `no tmpfs in a user+mount namespace here (unshare -rm: ${String(probe.stderr || probe.error?.message).trim()})`;
if (noCard !== undefined) console.warn(`reading-log-full-card: skipped, ${noCard}`);

/** A log as written before slot_cursors and the large-value index: 2000 readings of two slots, a collector's cursor at 500. */
function oldLog(): string {
  const file = join(dir, 'old.db');
  const log = new ReadingLog({ file, durability: 'batch' });
  for (let seq = 0; seq < 2000; seq++) log.append({ slot: seq % 2 === 0 ? 'tty-1' : 'tty-2', device: 'd', kind: 'line', epoch: 1, seq, ts: 1_700_000_000_000 + seq, value: new Uint8Array(40).fill(7) });
  log.close();
  const db = new DatabaseSync(file);
  db.exec("INSERT INTO cursors (collector, id) VALUES ('c1', 500)");
  db.exec('DROP TABLE slot_cursors');
  db.exec(`DROP INDEX ${TOO_LARGE_INDEX}`);
  db.exec('VACUUM');
  db.close();
  return file;
}

describe('reading log: a log older than slot_cursors on a full card', () => {
  it.skipIf(noCard !== undefined)('opens and delivers what it holds; the coverage is stored with the table once the card has room', () => {
    const child = fileURLToPath(new URL('./fixtures/reading-log-full-card.mjs', import.meta.url));
    const r = inNamespace('exec "$2" "$3" "$4" "$1" "$5"', process.execPath, child, oldLog(), String(SHM_BYTES));
    expect(r.status, String(r.stderr)).toBe(0);
    const steps = Object.fromEntries(String(r.stdout).trim().split('\n').map((l) => JSON.parse(l) as { step: string }).map((s) => [s.step, s]));
    // Before: {"step":"open","error":"database or disk is full"}.
    expect(steps.open).toEqual({ step: 'open', readings: 2000, cursor: 500, delivered: 1500, slotCursors: null });
    // Still full: the commit that would store tty-2's coverage fails as a commit of readings does.
    expect(steps.full).toEqual({ step: 'full', error: 'database or disk is full', slotCursors: null });
    expect(steps.room).toEqual({ step: 'room', slotCursors: [{ collector: 'c1', slot: 'tty-2', id: 500 }] });
    // And read back: tty-2's readings after 500 are still owed to c1 (a grant covering it again resumes there).
    expect(steps.reopen).toEqual({ step: 'reopen', cursor: 2000, resumeTty2: 500 });
  }, 90_000);
});
