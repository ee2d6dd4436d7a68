// A damaged frame in the reading log's WAL, found before SQLite opens the log (review of durable
// delivery, minor). SQLite's recovery takes the WAL's frames in order while each has the header's
// salts and its running checksum holds (sqlite.org/fileformat.html "WAL File Format", "Checksum
// Algorithm"), and drops every frame from the first that fails: committed transactions after a
// damaged frame are discarded without a word. The WAL is left on disk only by a crash (a clean
// close checkpoints and deletes it), and is read once, at open, before the log's first write
// overwrites what recovery dropped.
//
// What counts: frames with this WAL's salts after the first bad one were written in this WAL's
// generation (older frames left in the file from before a reset carry other salts). Their commit
// frames are transactions recovery discards, but the last one may have been in flight at a crash
// (its frames reach the disk in any order before its fsync): only two or more show a committed
// transaction lost, and are reported. A live WAL (another process has the log open) is never
// taken for a damaged one: its header is read again after the scan, and a reset in between
// (new salts) voids the result.
//
// Why exactly one lost commit is not reported, though it may be an acknowledged one: it cannot be
// told from the commit in flight at the crash. SQLite writes a transaction's frames with plain
// writes and then fsyncs once (synchronous=FULL; the commit is acknowledged after that fsync), so
// until then the kernel and the card may have stored any of its frames, in any order, and a frame
// may be torn within itself (its header's sector new, the rest of its page old). A crash there
// leaves frames with this WAL's salts whose checksum fails, perhaps followed by the same
// transaction's commit frame — byte for byte what an acknowledged last commit leaves when one of its
// frames is damaged afterwards. The same file comes from both histories, so no reading of it tells
// them apart; "a valid salt with a bad checksum" is the ordinary mark of an interrupted write, which
// recovery rightly discards and nobody was told had been stored. The one other record of how far
// the commits got is the wal-index (the -shm file: its mxFrame is set after the fsync), which
// SQLite never syncs and rebuilds from the WAL after a crash (sqlite.org/walformat.html; wal.c
// "the wal-index is transient"): after a power loss, when a card damages what it held, it is as
// old as the kernel's last writeback, so it names an earlier commit and misses this one; after a
// process crash it is current, but then nothing damaged the card. Knowing would take a second
// durable record of every commit, a second fsync per batch on an SD card: not done.
//
// With durability `off` (synchronous=OFF) nothing orders the writes at all, so after a power loss
// two or more commits after a frame the card never got is also what the kernel's writeback order
// leaves, not only damage: the commits are lost all the same (the loss `off` accepts), and reported.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export interface WalDamage {
  /** The first frame recovery drops (1-based; 0: the WAL's header itself is damaged). */
  readonly frame: number;
  /** Frames of this WAL from it on, dropped with it. */
  readonly frames: number;
  /** Commit frames among them: transactions discarded (the last possibly in flight at the crash). */
  readonly commits: number;
}

const HEADER = 32;
const FRAME_HEADER = 24;
const MAGIC = 0x377f0682;
const VERSION = 3007000;
/** Frames read per readSync. */
const CHUNK_FRAMES = 256;

/** SQLite's WAL checksum over `b` (a multiple of 8 bytes), from (s1, s2); words big-endian when the magic's low bit is set. */
function checksum(b: Uint8Array, bigEndian: boolean, s: readonly [number, number]): [number, number] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let [s1, s2] = s;
  for (let i = 0; i < b.byteLength; i += 8) {
    s1 = (s1 + v.getUint32(i, !bigEndian) + s2) >>> 0;
    s2 = (s2 + v.getUint32(i + 4, !bigEndian) + s1) >>> 0;
  }
  return [s1, s2];
}

const be32 = (b: Uint8Array, at: number): number => new DataView(b.buffer, b.byteOffset).getUint32(at, false);
const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

function readAt(fd: number, at: number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = readSync(fd, b, got, n - got, at + got);
    if (r === 0) break;
    got += r;
  }
  return got === n ? b : b.subarray(0, got);
}

/**
 * What recovery of `file`'s WAL will discard after a damaged frame, when it shows a committed
 * transaction lost; undefined otherwise (no WAL, intact, a torn tail, or the WAL unreadable: the
 * check never keeps the log from opening, SQLite decides that).
 */
export function checkWal(file: string): WalDamage | undefined {
  let fd: number;
  try {
    fd = openSync(`${file}-wal`, 'r');
  } catch {
    return undefined;
  }
  try {
    return scan(fd);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** The scan itself: the header, then every whole frame, in chunks. */
function scan(fd: number): WalDamage | undefined {
  const size = fstatSync(fd).size;
  const header = readAt(fd, 0, HEADER);
  if (header.length < HEADER) return undefined;
  const magic = be32(header, 0);
  const pageSize = be32(header, 8);
  // Without a page size no frame can be found: nothing to say.
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) return undefined;
  const bigEndian = (magic & 1) === 1;
  const salts = header.subarray(16, 24);
  let sum: readonly [number, number] = checksum(header.subarray(0, 24), bigEndian, [0, 0]);
  let bad = (magic & ~1) !== MAGIC || be32(header, 4) !== VERSION || sum[0] !== be32(header, 24) || sum[1] !== be32(header, 28) ? 0 : -1;
  let frames = 0;
  let commits = 0;
  const frameSize = FRAME_HEADER + pageSize;
  const count = Math.floor((size - HEADER) / frameSize);
  for (let first = 0; first < count; first += CHUNK_FRAMES) {
    const n = Math.min(CHUNK_FRAMES, count - first);
    const chunk = readAt(fd, HEADER + first * frameSize, n * frameSize);
    for (let i = 0; i < n && (i + 1) * frameSize <= chunk.length; i++) {
      const f = chunk.subarray(i * frameSize, (i + 1) * frameSize);
      const ours = same(f.subarray(8, 16), salts);
      if (bad < 0) {
        const s = checksum(f.subarray(FRAME_HEADER), bigEndian, checksum(f.subarray(0, 8), bigEndian, sum));
        if (ours && be32(f, 0) !== 0 && s[0] === be32(f, 16) && s[1] === be32(f, 20)) {
          sum = s;
          continue;
        }
        bad = first + i + 1;
      }
      if (ours) {
        frames++;
        if (be32(f, 4) !== 0) commits++;
      }
    }
  }
  if (bad < 0 || commits < 2) return undefined;
  // Reset by a live writer meanwhile (new salts): what was read mixes two generations.
  if (!same(readAt(fd, 0, HEADER), header)) return undefined;
  return { frame: bad, frames, commits };
}
