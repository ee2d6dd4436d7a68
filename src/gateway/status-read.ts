// Reading the status file back (`uzpgw status`): parse it, recompute every artefact's expiry against
// the reader's "now" (a gateway that stopped writing a week ago must still warn), and judge whether
// the gateway that wrote it looks alive. The writer is status-reporter.ts.

import { FileErrorCode } from '../files/errors.js';
import { readFileCapped } from '../files/fsutil.js';
import { utf8Text } from '../files/json.js';
import { isCodedError, LocalError } from '../lib/errors.js';
import { assessExpiry } from './expiry.js';
import { roughDuration } from '../lib/time-text.js';
import { STATUS_KIND, STATUS_VERSION, type ArtefactStatus, type GatewayStatus } from './status-file.js';

/** A gateway with dozens of slots stays far below this. */
const MAX_STATUS_BYTES = 1 << 20;
/** Missed periodic writes before a running gateway is called "not writing". */
export const STALE_PERIODS = 3;
/** How a review begins that cannot say whether the gateway runs (the file's time is ahead of this clock). */
export const UNJUDGED = 'cannot tell whether it runs';

function invalid(file: string, why: string): LocalError {
  return new LocalError(FileErrorCode.FILE_INVALID, `${file}: not a gateway status file (${why})`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isTime = (v: unknown): v is string => typeof v === 'string' && !Number.isNaN(Date.parse(v));

/** Checks the fields a reader relies on; the rest is shown as written. */
export function parseGatewayStatus(text: string, file: string): GatewayStatus {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw invalid(file, (e as Error).message);
  }
  if (!isObject(v) || v.kind !== STATUS_KIND) throw invalid(file, `expected "kind": "${STATUS_KIND}"`);
  if (v.version !== STATUS_VERSION) throw invalid(file, `version ${JSON.stringify(v.version)}, this uzpgw reads version ${STATUS_VERSION}; run the uzpgw that the gateway runs`);
  if (!isTime(v.written_at) || !isTime(v.started_at)) throw invalid(file, 'written_at and started_at must be ISO times');
  if (!Number.isSafeInteger(v.pid) || (v.pid as number) <= 0 || !Number.isSafeInteger(v.interval_ms) || (v.interval_ms as number) <= 0) throw invalid(file, 'pid and interval_ms must be positive integers');
  if (v.state !== 'running' && v.state !== 'stopped') throw invalid(file, 'state must be "running" or "stopped"');
  if (!isObject(v.identity) || typeof v.identity.cid !== 'string' || !isObject(v.runtime) || !isObject(v.rn) || !isObject(v.sessions)) throw invalid(file, 'identity, runtime, rn and sessions must be objects');
  if (!Array.isArray(v.slots) || !v.slots.every(isObject)) throw invalid(file, 'slots must be a list of objects');
  if (!Array.isArray(v.artefacts) || !v.artefacts.every((a) => isObject(a) && typeof a.kind === 'string' && isTime(a.expires_at))) throw invalid(file, 'every artefact needs a kind and an ISO expires_at');
  return v as unknown as GatewayStatus;
}

/** Reads and parses the status file; a missing file says what to do about it. */
export function readGatewayStatus(file: string): GatewayStatus {
  let bytes: Uint8Array;
  try {
    bytes = readFileCapped(file, MAX_STATUS_BYTES, 'gateway status file').bytes;
  } catch (e) {
    if (isCodedError(e) && e.code === FileErrorCode.FILE_NOT_FOUND) {
      throw new LocalError(FileErrorCode.FILE_NOT_FOUND, `no status at ${file}: is the gateway running? it writes this file at start (see \`journalctl -t uzp-gateway\`)`, { cause: e });
    }
    if (isCodedError(e) && /permission denied/.test(e.message)) {
      throw new LocalError(e.code, `${e.message}: the state directory is private to the service; run \`sudo uzpgw status\``, { cause: e });
    }
    throw e;
  }
  return parseGatewayStatus(utf8Text(bytes, file, FileErrorCode.FILE_INVALID), file);
}

export interface StatusReview {
  /** The writer looks alive: state running, its pid exists, and the file is fresh (not older than STALE_PERIODS intervals, nor more than one ahead of this clock). */
  readonly alive: boolean;
  /** Why not, when not alive. */
  readonly reason?: string;
  /** The artefacts with expiry and warning recomputed at the review time. */
  readonly artefacts: readonly ArtefactStatus[];
  /** Exit 0: alive, no artefact expired or within the warning window, the reading log's commits not failing. */
  readonly ok: boolean;
}

/** Recomputes `s` at `nowMs`. `pidExists` is asked only about the writer's pid (injected so the review stays pure). */
export function reviewStatus(s: GatewayStatus, nowMs: number, pidExists: (pid: number) => boolean): StatusReview {
  const artefacts = s.artefacts.map((a): ArtefactStatus => {
    const x = assessExpiry(Date.parse(a.expires_at), nowMs);
    const { warning: _old, ...rest } = a;
    return { ...rest, expiry: x.state, ...(x.warning !== undefined ? { warning: x.warning } : {}) };
  });
  const writtenMs = Date.parse(s.written_at);
  const age = nowMs - writtenMs;
  const last = `last written ${s.written_at}${age > 0 ? ` (${roughDuration(age)} ago)` : ''} by pid ${s.pid}`;
  let reason: string | undefined;
  if (s.state === 'stopped') reason = `not running: the gateway stopped; ${last}`;
  else if (!pidExists(s.pid)) reason = `not running or not writing: ${last}, which no longer exists`;
  // Written "in the future": this clock was stepped back (NTP, an RTC-less board's first sync) after
  // the write, so the file's age says nothing; a gateway hung since would look fresh for as long as
  // the step. One interval of slack for clocks that differ a little (a file read over NFS).
  else if (-age > s.interval_ms) reason = `${UNJUDGED}: written ${s.written_at}, ${roughDuration(-age)} ahead of this machine's clock (was the clock stepped back?) by pid ${s.pid}; a gateway that still writes replaces it within ${Math.round(s.interval_ms / 1000)} s, so if this persists it is not writing (\`journalctl -t uzp-gateway\`)`;
  else if (age > STALE_PERIODS * s.interval_ms) reason = `not running or not writing: ${last} (it writes every ${Math.round(s.interval_ms / 1000)} s)`;
  const alive = reason === undefined;
  const ok = alive && artefacts.every((a) => a.expiry === 'ok') && s.reading_log?.commit_failing === undefined;
  return { alive, ...(reason !== undefined ? { reason } : {}), artefacts, ok };
}

/** Whether a process with `pid` exists on this machine (EPERM: it does, but belongs to another user). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
