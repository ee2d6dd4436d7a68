// watchFiles (src/files/watch.ts): a file replaced by rename (writeArtefactFile, editors), written
// in place, or re-created is reported once per burst; other files of the directory are not.

import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeArtefactFile } from '../../src/files/artefact-file.js';
import { watchFiles } from '../../src/files/watch.js';
import { until } from '../uzp/link/wait.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function setup(): { dir: string; a: string; marker: string; seen: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'uzp-watch-'));
  const a = join(dir, 'rn-set.uzp');
  const marker = join(dir, 'marker');
  writeFileSync(a, 'v0');
  const seen: string[] = [];
  const stop = watchFiles([a, marker], (f) => seen.push(f), { debounceMs: 50 });
  cleanups.push(() => {
    stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, a, marker, seen };
}

/** Writes the marker and waits for it: every event of earlier writes has been delivered by then. */
async function settle(s: { marker: string; seen: string[] }): Promise<void> {
  const n = s.seen.filter((f) => f === s.marker).length;
  writeFileSync(s.marker, String(n));
  await until(() => s.seen.filter((f) => f === s.marker).length > n, 'marker seen');
}

describe('watchFiles', () => {
  it('a rename-replace (atomic write) is reported once, with the path as given', async () => {
    const s = setup();
    writeArtefactFile(s.a, Uint8Array.of(1, 2, 3));
    await until(() => s.seen.includes(s.a), 'replacement seen');
    await settle(s);
    expect(s.seen.filter((f) => f === s.a)).toEqual([s.a]);
  });

  it('a burst of in-place writes is one report; an editor-style temp + rename is another', async () => {
    const s = setup();
    for (let i = 0; i < 5; i++) writeFileSync(s.a, `v${i + 1}`);
    await until(() => s.seen.includes(s.a));
    await settle(s);
    expect(s.seen.filter((f) => f === s.a)).toHaveLength(1);
    const tmp = join(s.dir, '.rn-set.uzp.swp');
    writeFileSync(tmp, 'edited');
    renameSync(tmp, s.a);
    await until(() => s.seen.filter((f) => f === s.a).length === 2, 'second replacement seen');
  });

  it('a deleted and re-created file is reported; other files of the directory are not', async () => {
    const s = setup();
    writeFileSync(join(s.dir, 'unrelated.json'), '{}');
    unlinkSync(s.a);
    writeFileSync(s.a, 'new');
    await until(() => s.seen.includes(s.a));
    await settle(s);
    expect(new Set(s.seen)).toEqual(new Set([s.a, s.marker]));
  });

  it('a directory that cannot be watched is reported through onError, not thrown', () => {
    const errors: string[] = [];
    const stop = watchFiles(['/nonexistent-dir-for-watch-test/x.uzp'], () => {}, { onError: (dir) => errors.push(dir) });
    stop();
    expect(errors).toEqual(['/nonexistent-dir-for-watch-test']);
  });

  it('a file reached through a swapped directory link (a Kubernetes ConfigMap: a.json -> ..data/a.json, ..data swapped) is reported', async () => {
    const s = setup();
    const cm = join(s.dir, 'configmap');
    mkdirSync(join(cm, '..2026_1'), { recursive: true });
    writeFileSync(join(cm, '..2026_1', 'a.json'), 'v1');
    symlinkSync('..2026_1', join(cm, '..data'));
    symlinkSync('..data/a.json', join(cm, 'a.json'));
    const seen: string[] = [];
    const stop = watchFiles([join(cm, 'a.json')], (f) => seen.push(f), { debounceMs: 50 });
    cleanups.push(stop);
    // What kubelet does: the new version beside the old, a new link, renamed over ..data.
    mkdirSync(join(cm, '..2026_2'));
    writeFileSync(join(cm, '..2026_2', 'a.json'), 'v2');
    symlinkSync('..2026_2', join(cm, '..data_tmp'));
    renameSync(join(cm, '..data_tmp'), join(cm, '..data'));
    await until(() => seen.length > 0, 'the swap seen');
    expect(seen).toEqual([join(cm, 'a.json')]);
  });
});
