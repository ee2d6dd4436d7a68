// The sweep of temporary directories (src/lib/temp-sweep.ts, owner-marker.ts, temp-dir.ts). A
// runner killed together with its reaper (a cgroup kill takes both) left its directory, which can
// hold a throwaway domain's root key, in TMPDIR for good: here a runner-like process (the built
// dist/, as `uzpgw` runs) makes its directory, is frozen while its reaper is SIGKILLed, then is
// SIGKILLed itself, so neither cleans up, as in a cgroup kill. The next runner's start removes the
// directory. What the sweep must keep: a directory whose owner runs, and every directory it cannot
// prove to be ours and orphaned (no marker, garbage, a symlink, another boot or pid namespace).
// Markers are written here by hand from /proc, not by the code under test.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { sweepTempDirs } from '../../src/lib/temp-sweep.js';
import { childrenOf, killStillRunning, stillRunningAfter, type Proc } from '../helpers/orphans.js';
import { spawnNode, stopAll, waitForJsonLine, type Child } from '../helpers/processes.js';

const base = mkdtempSync(join(tmpdir(), 'sweep-test-'));
let orphans: Proc[] = [];

afterAll(async () => {
  killStillRunning(orphans);
  await stopAll();
  rmSync(base, { recursive: true, force: true });
});

const BOOT = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
const PIDNS = readlinkSync('/proc/self/ns/pid');

function startOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

/** A pid that no longer names the process it did: a child that has exited. */
function exitedPid(): number {
  return Number(execFileSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).trim());
}

/** A directory `root/name` with an owner marker holding `text`. */
function marked(root: string, name: string, text: string): string {
  const d = join(root, name);
  mkdirSync(d);
  writeFileSync(join(d, '.uzpgw-owner'), text);
  return d;
}

const marker = (o: Record<string, unknown>): string => JSON.stringify(o) + '\n';
/** A marker whose owner is dead here: this process's pid with another start time (the pid reused). */
const deadHere = (): string => marker({ pid: process.pid, start: String(Number(startOf(process.pid)) + 1), boot: BOOT, pidns: PIDNS });

/** A runner-like process: makes its temporary directory as the runners do, with a key in it. */
function startRunner(root: string): Child {
  const tempDir = pathToFileURL(join(process.cwd(), 'dist/lib/temp-dir.js')).href;
  return spawnNode(
    [
      '--input-type=module',
      '-e',
      `import { writeFileSync } from 'node:fs';
       import { join } from 'node:path';
       import { makeTempDir } from ${JSON.stringify(tempDir)};
       const dir = makeTempDir('runner-');
       writeFileSync(join(dir, 'root.key'), 'secret');
       console.log(JSON.stringify({ dir }));
       setInterval(() => {}, 1000);`,
    ],
    { env: { TMPDIR: root } },
  );
}

describe('a runner killed together with its reaper', () => {
  it('leaves its directory, which the next runner removes at its start; a directory whose owner runs is kept', async () => {
    const root = mkdtempSync(join(base, 'tmp-'));
    const first = startRunner(root);
    const { dir } = await waitForJsonLine<{ dir: string }>(first);
    const reaper = childrenOf(first.pid).filter((k) => /reaper-main\.js$/.test(k.args));
    orphans = [...orphans, ...reaper];
    expect(reaper).toHaveLength(1);
    // As in a cgroup kill, neither gets to clean up: the runner is frozen (it would replace a dead
    // reaper), its reaper killed, then the runner.
    process.kill(first.pid, 'SIGSTOP');
    process.kill(reaper[0]!.pid, 'SIGKILL');
    expect(await stillRunningAfter(reaper, 10_000)).toEqual([]);
    process.kill(first.pid, 'SIGKILL');
    await first.exited;
    expect(existsSync(join(dir, 'root.key'))).toBe(true);

    const next = startRunner(root);
    const { dir: nextDir } = await waitForJsonLine<{ dir: string }>(next);
    orphans = [...orphans, ...childrenOf(next.pid)];
    expect(existsSync(dir)).toBe(false);
    // The next runner's own directory, its owner running: kept by any sweep.
    expect(sweepTempDirs(root)).toEqual({ removed: [], kept: 1 });
    expect(existsSync(join(nextDir, 'root.key'))).toBe(true);
  }, 30_000);
});

describe('sweepTempDirs', () => {
  it('keeps every directory it cannot prove to be ours and orphaned', () => {
    const root = mkdtempSync(join(base, 'tmp-'));
    const elsewhere = mkdtempSync(join(base, 'elsewhere-'));
    const kept = [
      join(root, 'uzpgw-unmarked-aaaaaa'),
      marked(root, 'uzpgw-garbage-aaaaaa', 'not json'),
      marked(root, 'uzpgw-array-aaaaaa', '[1,2,3]'),
      marked(root, 'uzpgw-extra-aaaaaa', marker({ ...JSON.parse(deadHere()), more: 1 })),
      marked(root, 'uzpgw-nopid-aaaaaa', marker({ pid: 'x', start: '1', boot: BOOT, pidns: PIDNS })),
      // Another boot (or another host sharing TMPDIR), another pid namespace: no lookup here says anything.
      marked(root, 'uzpgw-boot-aaaaaa', marker({ pid: exitedPid(), start: '1', boot: '00000000-0000-4000-8000-000000000000', pidns: PIDNS })),
      marked(root, 'uzpgw-pidns-aaaaaa', marker({ pid: exitedPid(), start: '1', boot: BOOT, pidns: 'pid:[1]' })),
      marked(root, 'uzpgw-long-aaaaaa', deadHere().trimEnd() + ' '.repeat(600)),
      // Owned by a live process: this one.
      marked(root, 'uzpgw-alive-aaaaaa', marker({ pid: process.pid, start: startOf(process.pid), boot: BOOT, pidns: PIDNS })),
      // Not our name.
      marked(root, 'other-dead-aaaaaa', deadHere()),
    ];
    mkdirSync(kept[0]!);
    // A marker that is a symlink to a real one, and one that is a FIFO (the read must not block).
    const real = marked(elsewhere, 'real', deadHere());
    const symlinked = join(root, 'uzpgw-symlinked-aaaaaa');
    mkdirSync(symlinked);
    symlinkSync(join(real, '.uzpgw-owner'), join(symlinked, '.uzpgw-owner'));
    const fifo = join(root, 'uzpgw-fifo-aaaaaa');
    mkdirSync(fifo);
    execFileSync('mkfifo', [join(fifo, '.uzpgw-owner')]);
    // A symlink with our name to a directory whose owner is dead: neither is touched.
    const link = join(root, 'uzpgw-link-aaaaaa');
    symlinkSync(real, link);
    // The positive control: a dead owner's directory, holding a symlink to a file outside it.
    const outside = join(elsewhere, 'precious');
    writeFileSync(outside, 'keep me');
    const dead = marked(root, 'uzpgw-dead-aaaaaa', deadHere());
    symlinkSync(outside, join(dead, 'link'));
    const gone = marked(root, 'uzpgw-gone-aaaaaa', marker({ pid: exitedPid(), start: '1', boot: BOOT, pidns: PIDNS }));

    const r = sweepTempDirs(root);
    expect([...r.removed].sort()).toEqual([dead, gone].sort());
    expect(r.kept).toBe(kept.length - 1 + 3); // the non-prefixed one is no candidate; symlinked, fifo, link are
    for (const d of [...kept, symlinked, fifo, link, real]) expect(existsSync(d)).toBe(true);
    expect(readFileSync(outside, 'utf8')).toBe('keep me');
  });

  it('looks at no more candidates than its limit', () => {
    const root = mkdtempSync(join(base, 'tmp-'));
    for (let i = 0; i < 5; i++) marked(root, `uzpgw-dead-${i}aaaaa`, deadHere());
    expect(sweepTempDirs(root, { maxEntries: 1000, maxInspected: 2 }).removed).toHaveLength(2);
    expect(sweepTempDirs(root, { maxEntries: 1000, maxInspected: 10 }).removed).toHaveLength(3);
  });
});
