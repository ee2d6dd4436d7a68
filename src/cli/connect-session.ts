// How `uzpgw connect` lives with its session: it says when the RN is lost and when the session is
// re-stitched (draft §11.3), exits 3 when no RN came back within --max-wait, and tells the caller
// to open a fresh session when the gateway refused the re-stitch (REOPEN).

import { isCodedError } from '../lib/errors.js';
import type { OperatorConnection } from '../operator/connect.js';
import { explainSessionEnd } from '../operator/grant-text.js';
import { toHex } from '../uzp/bytes.js';
import { ErrorCode } from '../uzp/errors.js';
import type { CommandIo } from './command.js';
import { notice } from './connect-serve.js';
import { onOutputClosed } from './output-closed.js';

/** Exit status when the RN was lost and no re-stitch came within --max-wait. */
export const EXIT_RN_LOST = 3;
/** Not an exit status: the session must be replaced by a fresh one. */
export const REOPEN = -1;
/** Between tries of a fresh session while the gateway is not reachable yet. */
const REOPEN_RETRY_MS = 1_000;

/** The gateway refused to re-stitch (it restarted, or the Grant no longer holds): not an RN loss. */
function isRefusal(e: Error): boolean {
  return isCodedError(e) && e.code === ErrorCode.CONTINUITY_REFUSED;
}

/** The session ended while waiting for a re-stitch (failover -> closed). */
function endedInFailover(conn: OperatorConnection): boolean {
  const h = conn.session.association.history;
  return h[h.length - 2] === 'failover';
}

/**
 * The gateway's CLOSE ended the session (our own close comes after untilDone stopped listening): it
 * stopped, or ended the session for a reason it sends (Grant expired, revoked, past the refusal
 * budget). Not a done mode: exit 1, saying what to do (connect's --help: "1 ... the session ended
 * with an error"); before, it was "session ended: closed by the gateway" and exit 0. The console
 * (`reopenOnClose`) outlives the gateway's stop, which gives no reason, with a fresh session; a
 * session ended for a reason would end the fresh one too, so the console ends as well.
 */
function gatewayEnded(conn: OperatorConnection, reason: string, io: CommandIo, json: boolean, reopenOnClose: boolean): number {
  if (reopenOnClose && reason === '') {
    notice(io, json, { event: 'session_ended', by: 'gateway', reason: 'closed by the gateway' }, 'session ended: closed by the gateway');
    return REOPEN;
  }
  const explanation = explainSessionEnd(reason, conn.grant.expiresAt);
  notice(io, json, { event: 'session_ended', by: 'gateway', reason: reason || 'closed by the gateway', explanation }, `session ended by the gateway${reason !== '' ? ` (${reason})` : ''}: ${explanation}`);
  return 1;
}

/**
 * Resolves with the exit code (or REOPEN) when the mode ends, the session ends, SIGINT/SIGTERM
 * arrives, or stdout's reader goes away (`| head -n1`: output-closed.ts; main.ts then exits 141). `reopen`: a refused re-stitch asks for a fresh session; `reopenOnClose` (the console,
 * which outlives a gateway's restart): so does a session the gateway closed without a reason (its
 * stop). Any other close of the gateway's is exit 1 (gatewayEnded).
 */
export async function untilDone(conn: OperatorConnection, done: Promise<number>, io: CommandIo, json: boolean, reopen: boolean, reopenOnClose = false): Promise<number> {
  let stop: () => void = () => {};
  let unwatchOutput: () => void = () => {};
  const signal = new Promise<number>((resolve) => {
    stop = (): void => resolve(0);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    unwatchOutput = onOutputClosed(stop);
  });
  // Never silently: losing the RN is said, and so is the re-stitch that rides through it (draft
  // §11.3); a session that ended under us (no re-stitch in time, gateway gone or closed it) too.
  const onFailover = (e?: Error): void => notice(io, json, { event: 'rn_lost', reason: e?.message ?? 'stitch closed' }, `RN lost (${e?.message ?? 'stitch closed'}); re-stitching at another RN`);
  const onRestitched = (generation: number, rn?: Uint8Array): void =>
    notice(io, json, { event: 'restitched', generation, ...(rn ? { rn: toHex(rn) } : {}) }, `re-stitched${rn ? ` through RN ${toHex(rn).slice(0, 12)}` : ''}; nothing lost`);
  conn.session.on('failover', onFailover);
  conn.session.on('restitched', onRestitched);
  let onClose: (e?: Error) => void = () => {};
  let endedCode: number | undefined;
  const ended = new Promise<number>((resolve) => {
    onClose = (e?: Error, _remoteCode?: number, remoteReason?: string): void => {
      if (e === undefined) endedCode = gatewayEnded(conn, remoteReason ?? '', io, json, reopenOnClose);
      else {
        const why = `${e.message}${isCodedError(e) ? ` [${e.code}]` : ''}`;
        notice(io, json, { event: 'session_ended', reason: why }, `session ended: ${why}`);
        if (isRefusal(e)) endedCode = reopen ? REOPEN : 1;
        else endedCode = endedInFailover(conn) ? EXIT_RN_LOST : 1;
      }
      resolve(endedCode);
    };
    conn.session.once('close', onClose);
  });
  // A session that ends aborts its channels first, in the same turn: a mode that ends with its
  // channel (modbus-tcp) settled `done` before `ended`, and the reopen or exit 3 was lost.
  const raced = await Promise.race([done, signal, ended]);
  const code = (endedCode as number | undefined) ?? raced;
  // Our own close (mode done, signal) is no news.
  conn.session.off('close', onClose);
  conn.session.off('failover', onFailover);
  conn.session.off('restitched', onRestitched);
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  unwatchOutput();
  conn.close();
  return code;
}

/** Opens a fresh session, trying again every second for up to `maxWaitMs`; then EXIT_RN_LOST. */
export async function reopenWithin(open: () => Promise<OperatorConnection | number>, maxWaitMs: number, io: CommandIo, json: boolean): Promise<OperatorConnection | number> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    try {
      return await open();
    } catch (e) {
      if (Date.now() + REOPEN_RETRY_MS > deadline) {
        notice(io, json, { event: 'session_ended', reason: `no fresh session within --max-wait: ${(e as Error).message}` }, `no fresh session within --max-wait (${(e as Error).message})`);
        return EXIT_RN_LOST;
      }
    }
    await new Promise((r) => setTimeout(r, REOPEN_RETRY_MS));
  }
}
