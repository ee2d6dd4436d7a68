// BLAKE3 Merkle measurement of the installed bundle (docs/PROFILE.md §Attestation, "bundle").
//
// Files: every regular file and symlink under the bundle directory in dist/, boards/, node_modules/
// (except the tool caches node_modules/.cache, .vite, .vitest, and the Node runtime packages
// node_modules/node-(linux|darwin|win)-*, which run the app, are measured on their own and never
// flashed into node_modules: lib/runtime-packages.ts), plus package.json and
// package-lock.json. Paths are '/'-separated, relative, sorted by UTF-8 bytes.
//   file leaf  = BLAKE3(0x00 || kind || u16be len(path) || path || BLAKE3(content))
//                kind: 'f' (0x66) regular, 'x' (0x78) regular with the owner-execute bit, 'l' (0x6c) symlink
//                (content = the link target's bytes, never followed)
//   group      = dist/<dir>: files directly in one dist directory; node_modules/<pkg> or
//                node_modules/@scope/<pkg>: a whole top-level package (nested node_modules included);
//                anything else: the file itself
//   group root = tree(file leaves of the group, in path order)
//   group leaf = BLAKE3(0x03 || u16be len(name) || name || u32be files || group root)
//   bundle root= tree(group leaves, in name order)
//   tree(xs)   = xs[0] if one; BLAKE3(0x02) if none; else BLAKE3(0x01 || tree(left) || tree(right))
//                with left = the first 2^k leaves, 2^k the largest power of two < n (RFC 9162 §2.1.1 split)
// The verifier recomputes the root from the groups and, when the root differs from the reference,
// names the groups that differ, appeared or disappeared.

import { constants, lstatSync, readdirSync, readlinkSync, type Dirent } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { OneAtATime } from '../lib/one-at-a-time.js';
import { CommonCode, LocalError } from '../lib/errors.js';
import { utf8, Writer } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { equal, toHex } from '../uzp/bytes.js';
import type { BundleGroup, BundleMeasurement } from './types.js';
import { RUNTIME_PACKAGE_DIR } from '../lib/runtime-packages.js';

/**
 * Top-level entries of a bundle that are measured; everything else (docs, src, test) is not code that
 * runs. `web/` is the console's page, which flash installs with the bundle.
 */
const BUNDLE_ENTRIES = ['dist', 'boards', 'node_modules', 'web', 'package.json', 'package-lock.json'] as const;

/** Tool caches inside node_modules (vite, babel, eslint…): written by tools at will, never loaded by the gateway. */
const CACHE_DIRS = new Set(['node_modules/.cache', 'node_modules/.vite', 'node_modules/.vitest']);

const LEAF = 0x00;
const NODE = 0x01;
const EMPTY = 0x02;
const GROUP = 0x03;

/** `f` file, `x` owner-executable file, `l` symlink (content: its target), `o` anything else (content: what it is). */
type LeafKind = 'f' | 'x' | 'l' | 'o';

/** What a non-regular, non-symlink entry is, as an `o` leaf's content. */
function otherKind(st: { isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isDirectory(): boolean }): string {
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice()) return 'char-device';
  if (st.isBlockDevice()) return 'block-device';
  return st.isDirectory() ? 'unreadable-directory' : 'special';
}

function groupOf(path: string): string {
  const parts = path.split('/');
  if (parts[0] === 'node_modules' && parts.length >= 3) {
    return parts[1]!.startsWith('@') && parts.length >= 4 ? parts.slice(0, 3).join('/') : parts.slice(0, 2).join('/');
  }
  if (parts[0] === 'dist' && parts.length >= 2) return parts.slice(0, -1).join('/');
  return path;
}

export function merkleTree(p: CryptoProvider, leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return p.blake3(Uint8Array.of(EMPTY));
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  const l = merkleTree(p, leaves.slice(0, k));
  const r = merkleTree(p, leaves.slice(k));
  return p.blake3(new Writer(65).u8(NODE).bytes(l).bytes(r).finish());
}

export function fileLeaf(p: CryptoProvider, path: string, kind: LeafKind, content: Uint8Array): Uint8Array {
  return fileLeafOfDigest(p, path, kind, p.blake3(content));
}

/** The file leaf from BLAKE3(content), for content hashed piece by piece. */
export function fileLeafOfDigest(p: CryptoProvider, path: string, kind: LeafKind, contentDigest: Uint8Array): Uint8Array {
  const pb = utf8.encode(path);
  return p.blake3(new Writer(4 + pb.length + 32).u8(LEAF).u8(kind.charCodeAt(0)).vec16(pb).bytes(contentDigest).finish());
}

export function groupLeaf(p: CryptoProvider, g: BundleGroup): Uint8Array {
  const nb = utf8.encode(g.name);
  return p.blake3(new Writer(8 + nb.length + 32).u8(GROUP).vec16(nb).u32(g.files).bytes(g.root).finish());
}

/** The bundle root a list of groups implies (the verifier checks evidence against its own claim). */
export function bundleRootOf(p: CryptoProvider, groups: readonly BundleGroup[]): Uint8Array {
  return merkleTree(p, groups.map((g) => groupLeaf(p, g)));
}

function compareUtf8(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

interface CachedLeaf {
  readonly stamp: string;
  readonly leaf: Uint8Array;
}

/**
 * What one read takes and one hash step hashes. Files are hashed piece by piece, the event loop
 * turning between pieces, every ~1.5 ms of hashing (BLAKE3 is pure JS, ~45 MB/s here): hashed
 * whole, a 21 MB file held a gateway's event loop for ~450 ms, and a Modbus reply that arrived
 * meanwhile was judged a timeout (docs/BENCH.md "modbus-polls", 2026-12-06).
 */
const READ_CHUNK_BYTES = 64 * 1024;

/**
 * The longest stretch of walking directories or of Merkle roots between two turns of the event loop.
 * Walking a dev tree's node_modules in one synchronous recursion held the loop 30-77 ms.
 */
const SLICE_MS = 1;

/**
 * Measures a bundle directory; keeps each file's leaf keyed by (size, mtime, ctime, inode, mode) so a
 * repeated measurement re-reads only files whose metadata changed (a content change without any of
 * those changing needs a clock reset or a raw block write — out of scope for a software measurement).
 * The event loop turns at every read of a file and every SLICE_MS of walking or of Merkle roots, so
 * a gateway keeps serving while it measures.
 */
export class BundleMeasurer {
  private readonly cache = new Map<string, CachedLeaf>();
  /**
   * One buffer every read of a measurement goes through (files are hashed one at a time, and
   * measurements run one at a time), dropped when the measurement ends. A fresh buffer per file
   * (readFile) left glibc's main heap ~37 MB larger for good after measuring a bundle (the
   * gateway-rss regression of 2026-12-05); reading in pieces keeps it at READ_CHUNK_BYTES.
   */
  private buf: Buffer | undefined;
  private readonly oneAtATime = new OneAtATime();
  private stopped = false;
  private lastTurn = 0;

  constructor(
    private readonly p: CryptoProvider,
    readonly dir: string,
  ) {}

  /** Measures the bundle; a call made while one runs waits for it (they share the read buffer). */
  measure(): Promise<BundleMeasurement> {
    return this.oneAtATime.run(async () => {
      try {
        return await this.measureAll();
      } finally {
        this.buf = undefined;
      }
    });
  }

  /**
   * Ends a measurement in progress at its next file (it rejects with ABORTED) and refuses later
   * ones: a stopping gateway must not stay alive for the seconds a full bundle hash takes.
   */
  stop(): void {
    this.stopped = true;
  }

  private async measureAll(): Promise<BundleMeasurement> {
    const paths: string[] = [];
    for (const top of BUNDLE_ENTRIES) await this.walk(top, paths);
    paths.sort(compareUtf8);
    const byGroup = new Map<string, Uint8Array[]>();
    const seen = new Set<string>();
    let n = 0;
    for (const path of paths) {
      if (this.stopped) throw new LocalError(CommonCode.ABORTED, 'bundle measurement stopped');
      const leaf = await this.leafOf(path);
      if (leaf === undefined) continue;
      seen.add(path);
      n++;
      const g = groupOf(path);
      let list = byGroup.get(g);
      if (list === undefined) byGroup.set(g, (list = []));
      list.push(leaf);
      await this.breathe();
    }
    for (const k of this.cache.keys()) if (!seen.has(k)) this.cache.delete(k);
    const groups: BundleGroup[] = [];
    for (const [name, leaves] of [...byGroup.entries()].sort((a, b) => compareUtf8(a[0], b[0]))) {
      groups.push({ name, files: leaves.length, root: merkleTree(this.p, leaves) });
      await this.breathe();
    }
    return { root: bundleRootOf(this.p, groups), files: n, groups };
  }

  private async walk(rel: string, out: string[]): Promise<void> {
    if (CACHE_DIRS.has(rel) || RUNTIME_PACKAGE_DIR.test(rel)) return;
    let st;
    try {
      st = lstatSync(join(this.dir, rel));
    } catch {
      return; // an absent top-level entry is simply not part of this bundle
    }
    if (st.isDirectory()) await this.walkDir(rel, out);
    else out.push(rel); // a file or symlink; anything else is measured as what it is (leafOf)
  }

  /** Directory listing with entry types from readdir itself: no stat per entry while walking. */
  private async walkDir(rel: string, out: string[]): Promise<void> {
    await this.breathe();
    if (CACHE_DIRS.has(rel) || RUNTIME_PACKAGE_DIR.test(rel)) return;
    let entries: Dirent[];
    try {
      entries = readdirSync(join(this.dir, rel), { withFileTypes: true });
    } catch (e) {
      // Vanished: absent. Unreadable (a directory the gateway's user cannot list, whose files it may
      // still open by name): measured as such, so it changes the root instead of hiding its files.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') out.push(rel);
      return;
    }
    for (const e of entries) {
      const child = `${rel}/${e.name}`;
      if (e.isDirectory()) await this.walkDir(child, out);
      else out.push(child); // FIFOs, sockets and device nodes too (leafOf): a FIFO named like a module can be loaded
    }
  }

  private async leafOf(path: string): Promise<Uint8Array | undefined> {
    const abs = join(this.dir, path);
    let st;
    try {
      // Synchronous stat: ~10x cheaper than the promise API for thousands of small files, and the
      // caller yields to the event loop every 64 files anyway.
      st = lstatSync(abs, { bigint: true });
    } catch {
      return undefined; // vanished between walk and read
    }
    const stamp = `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}:${st.mode}`;
    const hit = this.cache.get(path);
    if (hit !== undefined && hit.stamp === stamp) return hit.leaf;
    let leaf: Uint8Array;
    try {
      if (st.isSymbolicLink()) leaf = fileLeaf(this.p, path, 'l', utf8.encode(readlinkSync(abs)));
      else if (!st.isFile()) leaf = fileLeaf(this.p, path, 'o', utf8.encode(otherKind(st)));
      else {
        const digest = await this.contentDigest(abs);
        leaf = digest === undefined ? fileLeaf(this.p, path, 'o', utf8.encode('special')) : fileLeafOfDigest(this.p, path, (st.mode & 0o100n) !== 0n ? 'x' : 'f', digest);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // vanished while reading: absent
      if ((e as { code?: string }).code === CommonCode.ABORTED) throw e;
      leaf = fileLeaf(this.p, path, 'o', utf8.encode('unreadable')); // there, but not for us to read: measured as such
    }
    this.cache.set(path, { stamp, leaf });
    return leaf;
  }

  /**
   * BLAKE3 of the file's content, read and hashed READ_CHUNK_BYTES at a time to its end. The reads go
   * through the thread pool: each one is a turn of the event loop, so the gateway's own I/O waits at
   * most one piece's hashing. (Synchronous reads between 2 ms slices took ~20% less CPU, but a
   * tunneled Modbus read during the measurement then waited for slice after slice: 36 ms at the
   * median against 5 ms in `uzpgw hil run` under the full suite's load.)
   */
  private async contentDigest(abs: string): Promise<Uint8Array | undefined> {
    const h = this.p.blake3Hasher();
    const buf = (this.buf ??= Buffer.allocUnsafeSlow(READ_CHUNK_BYTES));
    // Non-blocking, and a regular file by its open descriptor: a file swapped for a FIFO since the
    // walk would otherwise hold this read, and every evidence request queued behind it, for good.
    const fh = await open(abs, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      if (!(await fh.stat()).isFile()) return undefined;
      for (;;) {
        if (this.stopped) throw new LocalError(CommonCode.ABORTED, 'bundle measurement stopped');
        const { bytesRead } = await fh.read(buf, 0, buf.length, null);
        if (bytesRead === 0) break;
        h.update(new Uint8Array(buf.buffer, buf.byteOffset, bytesRead));
      }
      this.lastTurn = performance.now();
      return h.digest();
    } finally {
      await fh.close();
    }
  }

  /**
   * A turn of the event loop (setImmediate runs after the I/O poll phase) once SLICE_MS of work has
   * passed since the last one (walking, Merkle roots, files whose leaves are cached).
   */
  private async breathe(): Promise<void> {
    if (performance.now() - this.lastTurn < SLICE_MS) return;
    await new Promise((r) => setImmediate(r));
    this.lastTurn = performance.now();
  }
}

export function measureBundle(p: CryptoProvider, dir: string): Promise<BundleMeasurement> {
  return new BundleMeasurer(p, dir).measure();
}

/** Human reasons for a differing bundle: which groups changed, appeared or disappeared. */
export function diffBundles(expected: BundleMeasurement, found: BundleMeasurement, limit = 8): string[] {
  if (equal(expected.root, found.root)) return [];
  const e = new Map(expected.groups.map((g) => [g.name, g]));
  const f = new Map(found.groups.map((g) => [g.name, g]));
  const out: string[] = [];
  for (const [name, g] of f) {
    const want = e.get(name);
    if (want === undefined) out.push(`${name} is not in the reference (${g.files} file${g.files === 1 ? '' : 's'})`);
    else if (!equal(want.root, g.root) || want.files !== g.files) {
      out.push(`${name} differs (${want.files} -> ${g.files} files, root ${toHex(want.root).slice(0, 16)}… -> ${toHex(g.root).slice(0, 16)}…)`);
    }
  }
  for (const name of e.keys()) if (!f.has(name)) out.push(`${name} is missing`);
  if (out.length > limit) return [...out.slice(0, limit), `and ${out.length - limit} more`];
  return out;
}
