// The marker a fetched runtime leaves in its cache directory (runtime.ts). It names the lock's
// integrity the tarball matched and, per shipped file, the SHA-256 of what was extracted from that
// tarball. The directory's files are checked against those digests every time the cache is used:
// a cache copied between machines over a flaky medium, edited, or cut short by a full disk would
// otherwise pass the package and ELF-header checks and be flashed onto devices, where a truncated
// binary only shows as a gateway that does not start (and an attestation digest nobody expected).

import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';

/** The marker's file name in the cache directory. */
export const RUNTIME_MARKER = '.integrity';

interface Marker {
  /** The lock's sha512 integrity the fetched tarball matched. */
  readonly integrity: string;
  /** File (relative to the directory) -> SHA-256, hex, of the bytes extracted from that tarball. */
  readonly sha256: Readonly<Record<string, string>>;
}

/** SHA-256 of `file`, read through one reused buffer (a fresh chunk per read fragments the heap: BENCH.md). */
function sha256File(file: string): string {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(file, 'r');
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/** The marker for `files` of `dir`, just extracted from a tarball that matched `integrity`. */
export function markerFor(dir: string, integrity: string, files: readonly string[]): string {
  const m: Marker = { integrity, sha256: Object.fromEntries(files.map((f) => [f, sha256File(join(dir, f))])) };
  return `${JSON.stringify(m, null, 2)}\n`;
}

/**
 * How `dir` stands against its marker for `integrity`: 'absent' when there is no marker of a checked
 * fetch of that integrity (none, another pin's, or one written before the marker named digests), or
 * why a file differs from what was fetched, or 'ok'.
 */
export function checkMarker(dir: string, integrity: string, files: readonly string[]): 'absent' | 'ok' | { readonly why: string } {
  let m: Partial<Marker>;
  try {
    m = JSON.parse(readFileSync(join(dir, RUNTIME_MARKER), 'utf8')) as Partial<Marker>;
  } catch {
    return 'absent';
  }
  if (m === null || typeof m !== 'object' || m.integrity !== integrity || typeof m.sha256 !== 'object' || m.sha256 === null) return 'absent';
  for (const f of files) {
    const want = (m.sha256 as Record<string, unknown>)[f];
    if (typeof want !== 'string') return 'absent';
    let got: string;
    try {
      got = sha256File(join(dir, f));
    } catch (e) {
      return { why: `${f}: cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})` };
    }
    if (got !== want) return { why: `${f} is not what was fetched (SHA-256 ${got.slice(0, 16)}…, fetched ${want.slice(0, 16)}…): the cache was changed or damaged` };
  }
  return 'ok';
}
