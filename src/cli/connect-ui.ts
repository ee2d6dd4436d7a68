// `uzpgw connect … ui`: the web console on this workstation (issue #17; docs/CONSOLE.md), for one
// gateway and the slots the operator's Grant covers: live readings and plots, per-slave
// diagnostics of Modbus slots (with diag.read), the attestation verdict (with --manifest), and this
// console's own audit trail (channels opened and refused, RN losses). Loopback only; the gateway
// still listens on nothing: the page is served here, its data comes over the one outbound session.

import { OperatorConsole } from '../operator/console-source.js';
import type { OperatorConnection } from '../operator/connect.js';
import { RefusedByGateway } from '../operator/errors.js';
import { explainRefusal } from '../operator/grant-text.js';
import type { CommandIo } from './command.js';
import { notice } from './connect-serve.js';
import { REOPEN, untilDone } from './connect-session.js';
import { startConsole, type PreparedConsole } from './console-serve.js';
import { usageError } from './flags.js';

export const DEFAULT_UI_LISTEN = '127.0.0.1:8470';

/** The slots to show: those named, else every slot the Grant names (a '*' Grant needs names). */
export function slotsToShow(conn: OperatorConnection, named: readonly string[]): string[] {
  if (named.length > 0) return [...new Set(named)];
  const scoped = conn.grant.body.scopes.map((s) => s.slot);
  if (scoped.includes('*')) throw usageError("your Grant covers every slot ('*'): name the slots to show with --show SLOT (repeat it)");
  return [...new Set(scoped)];
}

/**
 * Serves the console until SIGINT/SIGTERM or the session ends for good; resolves with connect's
 * exit status. A session the gateway closed (it stopped) or refuses to re-stitch (it restarted) is
 * replaced by a fresh one from `reopen` (trying for --max-wait, then exit 3), as `connect tail`
 * does, and the console carries on. A session the gateway ended for a reason (its Grant expired,
 * revoked, the refusal budget) or turned away (TOO_MANY_SESSIONS) ends the console: exit 1.
 */
export async function serveUi(prepared: PreparedConsole, first: OperatorConnection, named: readonly string[], io: CommandIo, json: boolean, reopen: () => Promise<OperatorConnection | number>): Promise<number> {
  let slots: string[];
  try {
    slots = slotsToShow(first, named);
  } catch (e) {
    first.close();
    throw e;
  }
  const source = new OperatorConsole(first.session.peerCid, { slots });
  let server;
  try {
    server = await startConsole(prepared, source, (e, path) => notice(io, json, { event: 'console_failed', path, reason: (e as Error)?.message ?? String(e) }, `console: ${path} failed (${(e as Error)?.message ?? String(e)})`));
  } catch (e) {
    source.close();
    first.close();
    throw e;
  }
  io.stdout.write(JSON.stringify({ event: 'listening', url: server.address, mode: 'ui', slots }) + '\n');
  notice(io, json, { event: 'console', url: server.address }, `web console at ${server.address} (slots ${slots.join(', ')}); Ctrl-C stops it`);
  try {
    let conn: OperatorConnection | number = first;
    for (;;) {
      // Listening for the session's end from the start: the gateway turns a session over the
      // operator's cap away while attach() opens its channels (refused TOO_MANY_SESSIONS on the
      // first, then CLOSE), and a listener added after attach() never heard that close: the
      // console hung, serving nothing, until Ctrl-C.
      const attached = source.attach(conn);
      const code = await untilDone(conn, attached.then((r) => (r !== undefined ? 1 : new Promise<number>(() => undefined))), io, json, true, true);
      // 0: our own stop (a signal, stdout gone). Otherwise the session is over and attach() settled
      // (its opens fail on a closed session) or had settled: a session turned away is explained
      // as the other modes explain it, exit 1, not replaced by a fresh one the gateway turns away too.
      const refused = code === 0 ? undefined : await attached;
      if (refused !== undefined) throw new RefusedByGateway(refused.refusal, refused.what, explainRefusal(refused.refusal, first.grant.body, slots[0] ?? ''));
      if (code !== REOPEN) return code;
      notice(io, json, { event: 'reopening' }, 'the gateway closed the session or refused to re-stitch it (it restarted?): opening a fresh session');
      conn = await reopen();
      if (typeof conn === 'number') return conn;
    }
  } finally {
    source.close();
    await server.close();
  }
}
