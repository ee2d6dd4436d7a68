// untilDone (src/cli/connect-session.ts): a session that ends aborts its channels first, in the
// same turn, so a mode that ends with its channel (modbus-tcp) settles before the session's own
// outcome. That outcome still decides: a session the gateway refused to re-stitch reopens (exit 3
// with reopen off), as for tail. Before, modbus-tcp always exited 1 there.
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { listenModbusTcp } from '../../src/cli/connect-serve.js';
import { EXIT_RN_LOST, REOPEN, untilDone } from '../../src/cli/connect-session.js';
import type { OperatorConnection } from '../../src/operator/connect.js';
import type { SlotChannel } from '../../src/operator/slot-channel.js';
import { ErrorCode, UzpError } from '../../src/uzp/errors.js';

const quiet = { stdout: new Writable({ write: (_c, _e, cb) => cb() }), stderr: new Writable({ write: (_c, _e, cb) => cb() }) };

/** A connection whose session went stitched -> failover -> closed, and its slot channel. */
function ending(history: string[]) {
  const session = Object.assign(new EventEmitter(), { association: { history } });
  return { conn: { session, close() {} } as unknown as OperatorConnection, slot: new EventEmitter() as unknown as SlotChannel, session };
}

describe('untilDone: the session\'s outcome wins over a mode that ended with its channel', () => {
  it('modbus-tcp: a refused re-stitch reopens (REOPEN), a session lost in failover exits 3', async () => {
    const local = await listenModbusTcp('127.0.0.1:0');
    try {
      for (const [history, reopen, err, want] of [
        [['stitched', 'failover', 'closed'], true, new UzpError(ErrorCode.CONTINUITY_REFUSED, 'peer', 'the peer refused to re-stitch'), REOPEN],
        [['stitched', 'failover', 'closed'], false, new UzpError(ErrorCode.LINK_TIMEOUT, 'peer', 'no RN within the window'), EXIT_RN_LOST],
      ] as const) {
        const e = ending([...history]);
        const done = local.serve(e.slot, quiet, () => {});
        const result = untilDone(e.conn, done, quiet, false, reopen);
        // Session.finish(): the channels abort (the slot ends), then 'close' with the reason.
        e.slot.emit('end');
        e.session.emit('close', err);
        expect(await result).toBe(want);
      }
    } finally {
      await local.close();
    }
  });

  it("a session the gateway ended (its CLOSE, no error) is exit 1 with the gateway's reason and what to do; the console reopens only after a close without reason (the gateway's stop)", async () => {
    const grant = { expiresAt: Date.UTC(2026, 0, 2, 3, 4, 5) / 1000 };
    for (const [reason, reopenOnClose, want, text] of [
      ['too many refusals', false, 1, /^session ended by the gateway \(too many refusals\): your sessions at this gateway went past their budget of refused and malformed messages \(200 a second for all of them together/],
      ['revoked', true, 1, /^session ended by the gateway \(revoked\): your Grant or your operator identity was revoked: the gateway's audit log/],
      ['grant expired', true, 1, /^session ended by the gateway \(grant expired\): your Grant expired \(2026-01-02T03:04:05Z\)/],
      ['', false, 1, /^session ended by the gateway: it stopped, or ended it for a reason it did not say: check your Grant's expiry \(2026-01-02T03:04:05Z\)/],
      ['', true, REOPEN, /^session ended: closed by the gateway$/],
    ] as const) {
      const e = ending(['stitched']);
      let err = '';
      const io = { stdout: quiet.stdout, stderr: new Writable({ write: (c, _e, cb) => ((err += String(c)), cb()) }) };
      const result = untilDone({ ...e.conn, grant } as unknown as OperatorConnection, new Promise<number>(() => undefined), io, false, true, reopenOnClose);
      e.session.emit('close', undefined, 0, reason);
      expect(await result).toBe(want);
      expect(err.trim()).toMatch(text);
    }
  });

  it('a mode that ends on its own while the session stays up keeps its own code', async () => {
    const e = ending(['stitched']);
    expect(await untilDone(e.conn, Promise.resolve(0), quiet, false, true)).toBe(0);
  });
});
