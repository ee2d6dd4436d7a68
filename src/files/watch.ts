// Watches a few named files for replacement or change, the way admins and tools replace them:
// `install`, `cp`, an editor's write-to-temp-then-rename, `writeArtefactFile` (temp + rename). A
// watch on the file itself would follow the old inode after a rename, so each file's *directory* is
// watched and events are filtered by name. Events come in bursts (create, write, rename), so each
// file is reported once, `debounceMs` after its last event, by when the writer is normally done.
// fs.watch may be unavailable (some network filesystems) or fail later: that is reported through
// onError and the caller falls back on its other trigger (SIGHUP); it never throws at the caller.

import { realpathSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { systemClock, type Clock } from '../lib/clock.js';

/** Quiet time after a file's last event before it is reported: long enough for `install` or an editor to finish. */
export const WATCH_DEBOUNCE_MS = 250;

interface WatchOptions {
  readonly debounceMs?: number;
  readonly clock?: Clock;
  /** A directory could not be watched, or its watch failed: `file`-level changes there go unseen. */
  readonly onError?: (dir: string, e: Error) => void;
}

/**
 * Calls `onChange(file)` (with the path as given) after each burst of events on one of `files`.
 * Returns the function that stops every watch and pending timer.
 */
export function watchFiles(files: readonly string[], onChange: (file: string) => void, o: WatchOptions = {}): () => void {
  const clock = o.clock ?? systemClock;
  const debounceMs = o.debounceMs ?? WATCH_DEBOUNCE_MS;
  const byDir = new Map<string, Map<string, string>>();
  for (const f of files) {
    const abs = resolve(f);
    const dir = dirname(abs);
    if (!byDir.has(dir)) byDir.set(dir, new Map());
    byDir.get(dir)!.set(basename(abs), f);
  }
  const timers = new Map<string, () => void>();
  const watchers: FSWatcher[] = [];
  let stopped = false;
  const touched = (file: string): void => {
    if (stopped) return;
    timers.get(file)?.();
    timers.set(
      file,
      clock.setTimeout(() => {
        timers.delete(file);
        if (!stopped) onChange(file);
      }, debounceMs),
    );
  };
  // Where each file leads through its symlinks: a Kubernetes ConfigMap mounts a.json -> ..data/a.json
  // and replaces it by swapping the ..data link, so the event names ..data, never a.json. An event
  // for another name of the directory re-resolves the files there and reports those that now lead
  // elsewhere.
  const leadsTo = new Map(files.map((f) => [f, realpathOf(f)]));
  const relinked = (names: Map<string, string>): void => {
    for (const f of names.values()) {
      const now = realpathOf(f);
      if (now === leadsTo.get(f)) continue;
      leadsTo.set(f, now);
      touched(f);
    }
  };
  for (const [dir, names] of byDir) {
    try {
      const w = watch(dir, { persistent: false }, (_event, name) => {
        // Without a name (some platforms) any file of this directory may have changed.
        if (name === null) for (const f of names.values()) touched(f);
        else {
          const f = names.get(name.toString());
          if (f !== undefined) touched(f);
          else relinked(names);
        }
      });
      w.on('error', (e) => {
        w.close();
        o.onError?.(dir, e);
      });
      watchers.push(w);
    } catch (e) {
      o.onError?.(dir, e as Error);
    }
  }
  return () => {
    stopped = true;
    for (const w of watchers) w.close();
    for (const cancel of timers.values()) cancel();
    timers.clear();
  };
}

/** The file's path with every symlink resolved; undefined while it leads nowhere. */
function realpathOf(file: string): string | undefined {
  try {
    return realpathSync(file);
  } catch {
    return undefined;
  }
}
