// Does an installed bundle already hold exactly the planned files? Compared byte for byte (not by
// mtime: a copy has fresh mtimes, and the question is what runs), plus file kind, mode, symlink
// targets and the directory set, so an unchanged flash can keep the installed tree untouched.

import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PlannedFile } from './bundle-plan.js';

const CHUNK = 1 << 20;

function sameBytes(a: string, b: string, size: number): boolean {
  const fa = openSync(a, 'r');
  try {
    const fb = openSync(b, 'r');
    try {
      const ba = Buffer.alloc(Math.min(CHUNK, Math.max(size, 1)));
      const bb = Buffer.alloc(ba.length);
      let pos = 0;
      while (pos < size) {
        const n = readSync(fa, ba, 0, ba.length, pos);
        const m = readSync(fb, bb, 0, bb.length, pos);
        if (n !== m || n === 0) return false;
        if (!ba.subarray(0, n).equals(bb.subarray(0, m))) return false;
        pos += n;
      }
      return true;
    } finally {
      closeSync(fb);
    }
  } finally {
    closeSync(fa);
  }
}

/** Every file, symlink and directory under `dir`, relative, '/'-separated (directories end with '/'). */
function listTree(dir: string, rel = '', out: string[] = []): string[] {
  for (const name of readdirSync(join(dir, rel))) {
    const r = rel === '' ? name : `${rel}/${name}`;
    if (lstatSync(join(dir, r)).isDirectory()) {
      out.push(r + '/');
      listTree(dir, r, out);
    } else out.push(r);
  }
  return out;
}

/** True iff `dir` contains exactly `files` (same kinds, modes, owners, bytes, link targets) and no other entries, its directories 0755. */
export function treeMatchesPlan(dir: string, files: readonly PlannedFile[]): boolean {
  try {
    return matches(dir, files);
  } catch {
    return false; // absent, unreadable or changing under us: not a match, so flash reinstalls
  }
}

function matches(dir: string, files: readonly PlannedFile[]): boolean {
  // Owners and modes as a fresh copy by this process makes them (stage.ts copyPlanned: files their
  // planned mode, directories 0755): a bundle whose directories became group- or world-writable, or
  // whose files changed owner or gained setuid bits, is installed again rather than kept and signed.
  const owner = (st: { uid: number; gid: number }): boolean => (process.getuid === undefined || st.uid === process.getuid()) && (process.getgid === undefined || st.gid === process.getgid());
  const root = lstatSync(dir);
  if (!root.isDirectory() || (root.mode & 0o7777) !== 0o755 || !owner(root)) return false;
  const entries = listTree(dir);
  const expected = new Set<string>();
  for (const f of files) {
    expected.add(f.rel);
    for (let d = dirname(f.rel); d !== '.' && d !== ''; d = dirname(d)) expected.add(d + '/');
  }
  if (entries.length !== expected.size || entries.some((e) => !expected.has(e))) return false;
  for (const e of entries) {
    if (!e.endsWith('/')) continue;
    const st = lstatSync(join(dir, e));
    if ((st.mode & 0o7777) !== 0o755 || !owner(st)) return false;
  }
  for (const f of files) {
    const at = join(dir, f.rel);
    const st = lstatSync(at);
    if (f.kind === 'symlink') {
      if (!st.isSymbolicLink() || readlinkSync(at) !== f.linkTarget) return false;
      continue;
    }
    if (!st.isFile() || st.size !== f.size || (st.mode & 0o7777) !== f.mode || !owner(st)) return false;
    if (!sameBytes(f.src, at, f.size)) return false;
  }
  return true;
}
