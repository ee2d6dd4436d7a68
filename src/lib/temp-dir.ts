// A runner's temporary directory (`hil run`'s, with the throwaway domain's root key; `hil
// equipment`'s; the demo's config; mosquitto's config; a virtual line's PTY links): made in TMPDIR
// as `uzpgw-<kind>XXXXXX`, marked with its owner (owner-marker.ts) and listed with this process's
// reaper, which removes it if this process dies first. The caller removes it in the ordinary way
// and tells the reaper (dirRemoved). The name and the marker are what let the sweep at a later
// runner's start (temp-sweep.ts) remove it when the reaper died too.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeOwnerMarker } from './owner-marker.js';
import { removeWithThisProcess } from './reaper.js';
import { TEMP_PREFIX } from './temp-sweep.js';

/** A new directory `TMPDIR/uzpgw-<kind>XXXXXX` (kind e.g. `hil-run-`), this process's. */
export function makeTempDir(kind: string): string {
  const dir = mkdtempSync(join(tmpdir(), TEMP_PREFIX + kind));
  writeOwnerMarker(dir);
  removeWithThisProcess(dir);
  return dir;
}
