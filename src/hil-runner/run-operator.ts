// The operator side of `uzpgw hil run`: one session under a Grant for every slot of the run (the
// operator library itself, as `uzpgw connect` uses it, not a mock), with a `tail` on each slot that
// produces readings, so expectations can look at what arrived since a step began. When the
// session ends (an RN kill the continuity window did not cover) or is in its graceful close, the
// next use connects again and re-opens the tails; a session is only used with all its tails
// open. Refusal checks get sessions of their own under Grants with only the purposes a step names.

import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { fromHex } from '../uzp/bytes.js';
import type { Session } from '../uzp/session/session.js';
import { connectOperator, type OperatorConnection } from '../operator/connect.js';
import { SlotChannel } from '../operator/slot-channel.js';
import { CodedError, isCodedError } from '../lib/errors.js';
import { FILES, issueGrant, type ThrowawayDomain } from './domain.js';
import type { ReadingStore } from './reading-store.js';
import { join } from 'node:path';
/** The session may wait this long for a re-stitch after losing its RN (an RN kill fault). */
const CONTINUITY_WAIT_MS = 30_000;
/** A step waits at most this long for a session in failover to be re-stitched (past the window, it ends). */
const RESTITCH_WAIT_MS = CONTINUITY_WAIT_MS + 5_000;

/** Every purpose a slot of this driver can use: the run's operator holds them all (PROFILE.md §HIL, Authority). */
const PURPOSES_BY_DRIVER: Readonly<Record<string, readonly string[]>> = {
  // Every table: a Modbus purpose without tables= covers holding registers only.
  'modbus-poller': ['modbus.read:tables=holding,input,coils,discrete', 'modbus.write:tables=holding,coils', 'diag.read'],
  'serial-line': ['serial.read', 'serial.write'],
  'serial-raw': ['serial.read', 'serial.write'],
  'mqtt-bridge': ['mqtt.subscribe', 'mqtt.publish'],
};

/** The full-authority Grant's purposes, each prefixed with its slot (a Grant naming several slots). */
export function allPurposes(slots: readonly { readonly id: string; readonly device: { readonly driver: string } }[]): string[] {
  return slots.flatMap((s) => (PURPOSES_BY_DRIVER[s.device.driver] ?? []).map((p) => `${s.id}/${p}`));
}

/** Ended, or in its graceful close: no step can use it, and the next use connects again. */
function gone(s: Session): boolean {
  return s.state === 'closed' || s.isClosing;
}

export class RunOperator {
  private conn: OperatorConnection | undefined;
  private connecting: Promise<Session> | undefined;
  private grants = 0;
  private closed = false;
  /** The last connect's failure (undefined once one succeeds). */
  private down: string | undefined;

  constructor(
    private readonly provider: CryptoProvider,
    private readonly domain: ThrowawayDomain,
    /** Slots whose readings are tailed into `store`. */
    private readonly tailed: readonly string[],
    /** Issues the full-authority Grant when the session is first needed (a run that never acts as this operator, the demo's, never holds one). */
    private readonly issueGrant: () => string,
    private readonly store: ReadingStore,
    /** Ends a wait for a re-stitch (Ctrl-C). */
    private readonly stop?: AbortSignal,
  ) {}

  private grantFile: string | undefined;

  private files(grant: string): { key: string; pcert: string; trust: string; rnSet: string; grant: string } {
    const at = (f: string): string => join(this.domain.dir, f);
    return { key: at(FILES.operatorKey), pcert: at(FILES.operatorPcert), trust: at(FILES.trust), rnSet: at(FILES.rnSet), grant };
  }

  /**
   * The full-authority session; connects (again) when there is none or it ended or is ending (in
   * its graceful close it opens no channel: SESSION_CLOSED). A session in failover (its RN was
   * killed) opens no channel (SESSION_FROZEN) until it is re-stitched to the new RN: that is
   * waited for, as long as the session's own continuity window at most.
   */
  session(): Promise<Session> {
    const s = this.conn?.session;
    if (s !== undefined && s.state === 'failover') return this.restitched(s);
    if (s !== undefined && !gone(s)) return Promise.resolve(s);
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  /** `s` once it is stitched again; a new session if it ends instead (the window passed). */
  private restitched(s: Session): Promise<Session> {
    return new Promise<Session>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        s.off('restitched', onStitched);
        s.off('close', onClose);
        this.stop?.removeEventListener('abort', onStop);
      };
      const onStitched = (): void => {
        done();
        resolve(s);
      };
      const onClose = (): void => {
        done();
        this.session().then(resolve, reject);
      };
      const onStop = (): void => {
        done();
        reject(new Error('the run is stopping'));
      };
      // A bound of our own on top of the session's window: a step never hangs on it.
      const timer = setTimeout(() => {
        done();
        reject(new Error(`the operator session was not re-stitched within ${RESTITCH_WAIT_MS} ms of losing its RN`));
      }, RESTITCH_WAIT_MS);
      s.on('restitched', onStitched);
      s.on('close', onClose);
      this.stop?.addEventListener('abort', onStop);
      if (this.stop?.aborted === true) onStop();
      else if (s.state !== 'failover') (s.state === 'closed' ? onClose : onStitched)();
    });
  }

  /**
   * A new session with every tail open, or none: a session is handed out (and kept) only once all
   * its tails are open. Kept without one, it would serve the steps after it, whose expectations
   * would then see no readings from that slot and could not say why. A tail that cannot be opened
   * closes the session and fails the step with the slot and the gateway's answer; the next use
   * connects again from the start.
   */
  private async connect(): Promise<Session> {
    this.conn?.close();
    this.conn = undefined;
    try {
      this.grantFile ??= this.issueGrant();
      const conn = await connectOperator(this.files(this.grantFile), fromHex(this.domain.gatewayCid), { provider: this.provider, maxWaitMs: CONTINUITY_WAIT_MS });
      try {
        for (const slot of this.tailed) {
          if (this.closed) break;
          await this.openTail(conn.session, slot);
        }
      } catch (e) {
        conn.close();
        throw e;
      }
      if (this.closed) {
        conn.close();
        throw new Error('the run is stopping');
      }
      this.conn = conn;
      this.down = undefined;
      return conn.session;
    } catch (e) {
      this.down = isCodedError(e) ? `${e.message} [${e.code}]` : String((e as Error)?.message ?? e);
      throw e;
    }
  }

  private async openTail(session: Session, slot: string): Promise<void> {
    let ch: SlotChannel;
    try {
      ch = await SlotChannel.open(session, slot, 'tail');
    } catch (e) {
      const what = `the run's operator could not open its tail on ${slot}, so its session was closed (the next step that needs it connects again)`;
      if (isCodedError(e)) throw new CodedError(e.code, e.fault, `${what}: ${e.message}`, { cause: e });
      throw new Error(`${what}: ${String((e as Error)?.message ?? e)}`, { cause: e });
    }
    ch.on('reading', (m: { value: unknown }) => this.store.add(slot, m.value));
    ch.on('error', () => {});
  }

  /** Makes sure a session (and its tails) is up: after an RN kill it comes back only if asked for. */
  keepUp(): void {
    void this.session().catch(() => {});
  }

  /** Why `slot`'s readings are not being tailed now: the last connect's error, until one succeeds. */
  whyNotTailed(slot: string): string | undefined {
    if (!this.tailed.includes(slot) || (this.conn !== undefined && !gone(this.conn.session))) return undefined;
    return this.down;
  }

  /** A session under a Grant with only `purposes` on `slot` (a refusal check); close it after use. */
  async restrictedSession(slot: string, purposes: readonly string[], nowMs: number): Promise<{ session: Session; close(): void }> {
    const grant = issueGrant(this.provider, this.domain, { name: `step-${++this.grants}`, purposes, slots: [slot], nowMs });
    const conn = await connectOperator(this.files(grant), fromHex(this.domain.gatewayCid), { provider: this.provider });
    return { session: conn.session, close: () => conn.close() };
  }

  close(): void {
    this.closed = true;
    this.conn?.close();
    this.conn = undefined;
  }
}
