// The gateway's status file (issue #9): what the running gateway holds and how it is doing, for
// `uzpgw status` to read. A file, not a socket: the gateway never listens, and on a flashed board
// the state directory is the one place the systemd sandbox lets it write (src/flash/unit.ts).
//   {"kind":"uzp-gw/gateway-status","version":1,"written_at":iso,"pid":n,"state":"running"|"stopped",
//    "identity":{...},"runtime":{...},"rn":{...},"artefacts":[...],"slots":[...],...}

import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileError } from '../files/fsutil.js';
import type { ExpiryState } from './expiry.js';

export const STATUS_KIND = 'uzp-gw/gateway-status';
/** Raised when a field changes meaning or goes away; readers refuse versions they do not know. */
export const STATUS_VERSION = 1;
export const STATUS_FILE_NAME = 'status.json';

/**
 * Where the gateway of `config` writes its status: next to its identity key
 * (/var/lib/uzp-gateway/status.json on a flashed board). The one rule the gateway and the CLI share.
 */
export function statusFileOf(config: { readonly identity: { readonly key: string } }): string {
  return join(dirname(config.identity.key), STATUS_FILE_NAME);
}

/** The RN attachment: the gateway keeps links to two RNs (LinkPool, warm standby) and fails over between them. */
export interface RnStatus {
  /** connecting: no attachment yet since start; detached: an attachment was lost and is being retried. */
  readonly state: 'connecting' | 'attached' | 'detached' | 'stopped';
  /** CID (hex) and address of the RN attached last. */
  readonly rn?: string;
  readonly address?: string;
  /** Every RN attached now (the warm standby included). */
  readonly links?: readonly { readonly rn: string; readonly address: string }[];
  /** When the current state began (ISO). */
  readonly since: string;
  /** Failed attempts since the last stable attachment. */
  readonly failures: number;
  /** Why the last attachment or attempt ended (while not attached). */
  readonly last_error?: { readonly code: string; readonly message: string; readonly at: string };
}

export interface ArtefactStatus {
  readonly kind: 'pcert' | 'rn-set' | 'revocation';
  /** The file it was read from, where one file is known. */
  readonly file?: string;
  readonly object_id: string;
  readonly epoch: number;
  readonly sequence: number;
  readonly not_before: string;
  readonly expires_at: string;
  readonly expiry: ExpiryState;
  readonly warning?: string;
}

export interface SlotStatus {
  readonly slot: string;
  readonly device: string;
  readonly driver: string;
  readonly state: 'running' | 'stopped';
  readonly readings: number;
  /** What is wrong with the equipment right now (e.g. a Modbus unit not answering). */
  readonly problem?: string;
  /** The driver's own counters and health (device.status()). */
  readonly detail: object;
}

/** The reading log (reading-log/reading-log.ts): how much it holds and what it lost to its byte bound. */
export interface ReadingLogStatus {
  readonly file: string;
  readonly durability: string;
  readonly readings: number;
  readonly bytes: number;
  readonly max_bytes: number;
  readonly pending: number;
  /** Bytes of the pending readings (bounded: CONFIG.md, reading log). */
  readonly pending_bytes?: number;
  /** Commits a damaged WAL frame made SQLite discard at an open, since the log was created (present when any). */
  readonly wal_discarded?: number;
  /** Readings lost unpublished, per slot: dropped by the byte bound since the log was created, and pending_dropped. */
  readonly dropped: Readonly<Record<string, number>>;
  /**
   * Of `dropped`, the readings dropped unstored from memory since the gateway started: beyond the
   * pending bound while commits failed (a full or failing disk), or pending at a stop whose last
   * commit failed; present when any.
   */
  readonly pending_dropped?: Readonly<Record<string, number>>;
  /** Readings deleted because every collector's receipts covered them. */
  readonly receipted: number;
  /**
   * Of `readings`, those no configured collector may receive now — slots outside every one's
   * consent, values over 512 KiB — dropped first past the byte bound; present when the gateway
   * publishes.
   */
  readonly kept_for_nobody?: number;
  /**
   * Present while the log's commits fail (a full or failing card): since when (ISO time), the last
   * error. The readings wait in memory (`pending`) and the commit is retried every batch_ms.
   */
  readonly commit_failing?: { readonly since: string; readonly error: string };
}

/** One collector the gateway publishes to (gateway/publisher). */
export interface PublishStatus {
  readonly collector: string;
  readonly state: string;
  /** Logged readings (committed or still pending) it may receive now (its consent, at most 512 KiB) and has not receipted yet. */
  readonly unreceipted: number;
  readonly receipts: number;
  /** Readings passed over because they exceed what a publish message carries (MAX_READING_VALUE). */
  readonly too_large?: number;
  /** The RN the publishing session runs through now. */
  readonly rn?: string;
  readonly last_receipt_at?: string;
  readonly last_error?: { readonly code: string; readonly message: string; readonly at: string };
}

export interface GatewayStatus {
  readonly kind: typeof STATUS_KIND;
  readonly version: typeof STATUS_VERSION;
  readonly written_at: string;
  readonly pid: number;
  readonly state: 'running' | 'stopped';
  readonly started_at: string;
  /** How often the file is rewritten while running; a reader calls it stale after a few periods. */
  readonly interval_ms: number;
  readonly config: string;
  readonly identity: { readonly cid: string; readonly name?: string; readonly board: string };
  readonly runtime: { readonly node: string; readonly exec_path: string; readonly arch: string; readonly platform: string };
  readonly rn: RnStatus;
  readonly artefacts: readonly ArtefactStatus[];
  readonly slots: readonly SlotStatus[];
  /** `refusals`: what the HIL refused inside sessions (frames, opens, requests), since start. */
  readonly sessions: { readonly open: number; readonly channels: number; readonly refusals: number };
  /**
   * What peers offered that was refused, since start: sessions refused before they existed (OFFERs,
   * handshakes), artefacts offered by RNs and, `early_data`, sessions whose early data (0-RTT) was
   * not taken (they went on at 1-RTT). Counted in full; the log says each kind in full only once
   * per source and interval, then sums the rest up (session.refused_suppressed,
   * artefact.refused_suppressed, session.early_refused_suppressed). Absent from gateways before it
   * was added; `early_data` from gateways before it was.
   */
  readonly refused?: { readonly handshakes: number; readonly artefacts_from_rn: number; readonly early_data?: number };
  /** Absent from gateways before issue #12. */
  readonly reading_log?: ReadingLogStatus;
  readonly publish?: readonly PublishStatus[];
}

/**
 * The file is padded with spaces to whole blocks of this many bytes (JSON allows the whitespace),
 * so that when the disk is full it can still be rewritten in place (see writeStatusFile).
 */
export const STATUS_BLOCK_BYTES = 4096;

/** Errors of a disk (or a file size limit) with no room for a new file. */
const NO_ROOM = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/**
 * Writes `status` to `file` atomically: a temporary file in the same directory, fsync, rename
 * (mode 0600: the file names the gateway's equipment and state). A reader sees the previous file or
 * the whole new one. Asynchronous on purpose: an fsync on an SD card can take tens of
 * milliseconds, which the event loop serving RTU buses and sessions must not wait for.
 * On a full disk (no room for the temporary file) the existing file is rewritten in place when the
 * new text fits its blocks: a reader may then catch a torn file and read again at the next write,
 * which beats a status that goes stale exactly when the disk it reports on is full (the reading
 * log's COMMITS FAILING lives in the same directory by default).
 */
export async function writeStatusFile(file: string, status: GatewayStatus): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const json = Buffer.from(JSON.stringify(status, null, 2) + '\n', 'utf8');
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(padded(json, Math.ceil(json.length / STATUS_BLOCK_BYTES) * STATUS_BLOCK_BYTES));
      // The umask cannot loosen it, but it could tighten it; the mode is the mode.
      await fh.chmod(0o600);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    if (NO_ROOM.has((e as NodeJS.ErrnoException)?.code ?? '') && (await rewriteInPlace(file, json))) return;
    throw fileError(e, file, 'write the status file');
  }
}

/** `json` ending in a newline, spaces before that newline up to `size` bytes. */
function padded(json: Buffer, size: number): Buffer {
  const out = Buffer.alloc(size, 0x20);
  json.copy(out, 0, 0, json.length - 1);
  out[size - 1] = 0x0a;
  return out;
}

/** Overwrites the existing file within its size (no new block needed); false when it cannot. */
async function rewriteInPlace(file: string, json: Buffer): Promise<boolean> {
  let fh;
  try {
    fh = await open(file, 'r+');
  } catch {
    return false;
  }
  try {
    const { size } = await fh.stat();
    if (json.length > size) return false;
    await fh.write(padded(json, size), 0, size, 0);
    await fh.sync();
    return true;
  } catch {
    return false;
  } finally {
    await fh.close();
  }
}
