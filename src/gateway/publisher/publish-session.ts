// One publishing session with one collector (OI §11): the gateway opened it outbound (§11.1), so
// the collector never connects to us. On its one channel: ANNOUNCE with the Discovery Grant and
// policy (§11.2) and wait for the collector's verdict (one: a later `accepted` or `refused` is
// dropped, so it cannot change mid-session what is sent); signal what changed since the last accepted
// announcement (§11.4 freshness, freshness.ts); then push the reading log in order from the
// last receipt, a few windows in flight (§11.3 push); every receipt is checked (signed by the
// session's peer, for our grant, covering the window) before the cursor moves and the log is trimmed
// (§11.5), and a collector that keeps sending receipts that do not check out is cut off; answer
// the collector's backfill requests (§11.3 request within the session); send revocations and wait
// for their signed confirmation (§11.6).

import type { Session } from '../../uzp/session/session.js';
import { decodePublish, encodePublish, MAX_READING_VALUE, MAX_WINDOW_ROWS, type PublishMessage } from '../../hil/publish-messages.js';
import type { ReceiptRange } from '../../hil/publish-ranges.js';
import type { Clock } from '../../lib/clock.js';
import type { ReadingLog } from '../reading-log/reading-log.js';
import { Windows, type Done } from './windows.js';

/** Rows per pushed window: one collector transaction, one receipt signature. */
export const WINDOW_ROWS = 512;
/**
 * Value bytes per window (and per backfill `range`): well inside a message (1 MiB, blocks/limits.ts)
 * whatever the readings' sizes; a window always takes at least one row.
 */
export const WINDOW_BYTES = 256 * 1024;
/**
 * How long a window waits for more readings before it goes out short of WINDOW_ROWS: short against
 * the log's half batch window, so a receipt usually arrives before the reading would be written
 * (reading-log.ts "Receipted before committed"); long enough that a busy slot fills whole windows.
 */
export const LINGER_MS = 20;
/** A window not receipted within this ends the session (a new one sends it again): a collector that went quiet, or answered short, never stalls publishing. */
export const RECEIPT_TIMEOUT_MS = 30_000;
/**
 * Windows sent and not yet receipted: more keeps the path full, fewer bounds what is resent (at most
 * 16 × 256 KiB). 4 left the path idle while the collector committed: the durable-delivery burst went
 * from 24k to 31k readings/s at 16, and more readings were receipted before the log wrote them.
 */
export const MAX_IN_FLIGHT = 16;
/**
 * Backfill requests (§11.3) waiting to be answered. They are answered one at a time, in order (each
 * reads up to MAX_WINDOW_ROWS rows from the log and waits for the session's send buffer); a
 * collector that asks faster than it reads the answers is cut off instead of holding us to it.
 */
export const MAX_WAITING_REQUESTS = 64;
/** How long the collector has to accept or refuse the announcement. */
export const ANNOUNCE_TIMEOUT_MS = 10_000;
/**
 * Receipts that do not check out (publish.receipt_ignored) before the session is closed: a
 * collector that sends them keeps no session up for them, nor adds an audit line per message
 * without end; the publisher waits longer before the next session (publisher.ts).
 */
export const MAX_IGNORED_RECEIPTS = 8;

/** A receipt as the gateway reads it, after its signature and binding were checked (receipt-check.ts). */
export interface CheckedReceipt {
  readonly kind: 'accept' | 'revoke';
  readonly ranges: readonly ReceiptRange[];
  readonly objectId: Uint8Array;
  readonly deleted?: number;
}

export interface PublishSessionHooks {
  readonly log: ReadingLog;
  /** Cursor key of this collector in the log (its CID in hex). */
  readonly collector: string;
  readonly clock: Clock;
  /** The announcement to send (built fresh per session: the log's drop counts change). */
  readonly announce: () => Extract<PublishMessage, { t: 'announce' }>;
  /** Whether a reading's slot is in the consent currently in force (grant scope minus revocations). */
  readonly inScope: (slot: string) => boolean;
  /** Max readings per second the grant allows (cons.rate), if any. */
  readonly maxRate?: number;
  /** Checks a receipt envelope; throws a coded error when it is not the collector's, or not for our grant. */
  readonly checkReceipt: (bytes: Uint8Array, session: Session) => CheckedReceipt;
  /** Revocations to deliver on this session: envelope bytes and object_id. */
  readonly pendingRevocations: () => readonly PendingRevocation[];
  /** OI §11.4: what changed since the last accepted announcement, sent right after this one is accepted. */
  readonly fresh?: () => readonly Extract<PublishMessage, { t: 'fresh' }>[];
  /** The `fresh` signals went out (none, when nothing changed): the announcement is now the last accepted one. */
  readonly onFresh?: (sent: readonly Extract<PublishMessage, { t: 'fresh' }>[]) => void;
  /** `revoked`: slots the collector holds revoked under this grant (PROFILE.md `accepted`). */
  readonly onAccepted: (revoked: readonly string[]) => void;
  readonly onRefused: (code: string) => void;
  readonly onReceipt: (r: CheckedReceipt, readings: number) => void;
  readonly onReceiptIgnored: (reason: string, code: string) => void;
  readonly onRevoked: (r: CheckedReceipt, revocation: PendingRevocation) => void;
  readonly onBadMessage: (reason: string) => void;
  /** Readings passed over because their value exceeds what the wire carries (MAX_READING_VALUE). */
  readonly onTooLarge?: (readings: number) => void;
}

export interface PendingRevocation {
  readonly bytes: Uint8Array;
  readonly objectId: Uint8Array;
}

/**
 * How a session ended: `timeout` no verdict on the announcement, `receipt_timeout` a window never
 * receipted, `receipts_ignored` MAX_IGNORED_RECEIPTS receipts that did not check out.
 */
export type SessionOutcome = 'closed' | 'refused' | 'timeout' | 'receipt_timeout' | 'receipts_ignored';

/** Runs one session to its end; resolves with how it ended. Never throws. */
export async function runPublishSession(session: Session, h: PublishSessionHooks): Promise<SessionOutcome> {
  const ch = session.openChannel();
  // Aborted when the session or channel ends, a receipt times out, or the collector is cut off.
  const abort = new AbortController();
  const stopped = new Promise<'closed'>((r) => abort.signal.addEventListener('abort', () => r('closed'), { once: true }));
  const done = (): void => abort.abort();
  if (session.state === 'closed') done();
  session.once('close', done);
  ch.once('end', done);
  ch.once('abort', done);
  let wake: (() => void) | undefined;
  const poke = (): void => wake?.();
  const offCommit = h.log.onCommit(poke);
  // Appends wake the loop only when it waits for a first reading or a window's worth (not 1 per reading).
  let wantAppend: 'any' | 'window' | 'none' = 'none';
  let sentUpTo = 0;
  const offAppend = h.log.onAppend(() => {
    if (wantAppend === 'any' || (wantAppend === 'window' && h.log.lastId - sentUpTo >= WINDOW_ROWS)) poke();
  });
  abort.signal.addEventListener('abort', poke, { once: true });
  const windows = new Windows(h.clock);
  let timedOut = false;
  let ignoredReceipts = 0;
  const cancelReceiptTimer = watchReceipts();
  const sentRevocations = new Set<string>();
  let verdict: ((v: 'accepted' | 'refused') => void) | undefined;
  const verdictP = new Promise<'accepted' | 'refused'>((r) => (verdict = r));
  const send = async (m: PublishMessage): Promise<boolean> => {
    try {
      await ch.send(encodePublish(m), abort.signal);
      return true;
    } catch {
      return false;
    }
  };
  ch.on('message', (bytes: Uint8Array) => {
    let m: PublishMessage;
    try {
      m = decodePublish(bytes);
    } catch (e) {
      h.onBadMessage((e as Error).message);
      return;
    }
    switch (m.t) {
      case 'accepted':
      case 'refused': {
        // One verdict per announcement (PROFILE.md "Order of a session"): a later one would let
        // the collector narrow mid-session what its receipts must cover.
        const v = verdict;
        if (v === undefined) return h.onBadMessage(`\`${m.t}\` after the verdict on the announcement: dropped`);
        verdict = undefined;
        if (m.t === 'accepted') h.onAccepted(m.revoked ?? []);
        else h.onRefused(m.code);
        v(m.t);
        return;
      }
      case 'receipt':
        return onReceipt(m.w, m.rc);
      case 'request':
        return request(m);
      case 'revoked':
        return onRevoked(m.rev, m.rc);
      default:
        h.onBadMessage(`${m.t} is not a collector message`);
    }
  });

  /** Waits for a poke (commit, receipt, end; appends as `appends` says), or `ms` at most. */
  function waitWake(appends: 'any' | 'window' | 'none', ms?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const cancel = ms === undefined ? undefined : h.clock.setTimeout(() => wake?.(), ms);
      wantAppend = appends;
      wake = () => {
        wake = undefined;
        wantAppend = 'none';
        cancel?.();
        resolve();
      };
    });
  }

  /** Ends the session when a window waits for a receipt and none has come for RECEIPT_TIMEOUT_MS (Windows.waitingSince). */
  function watchReceipts(): () => void {
    let cancel: () => void = () => undefined;
    const check = (): void => {
      const since = windows.waitingSince();
      const now = h.clock.now();
      if (since !== undefined && now - since >= RECEIPT_TIMEOUT_MS) {
        // The next session sends the window again (publisher.ts reports RECEIPT_TIMEOUT).
        timedOut = true;
        abort.abort();
        return;
      }
      cancel = h.clock.setTimeout(check, since === undefined ? RECEIPT_TIMEOUT_MS : since + RECEIPT_TIMEOUT_MS - now, { unref: true });
    };
    cancel = h.clock.setTimeout(check, RECEIPT_TIMEOUT_MS, { unref: true });
    return () => cancel();
  }

  /** A receipt that does not check out: nothing is deleted (OI §11.5); past MAX_IGNORED_RECEIPTS the session ends. */
  function ignore(reason: string, code: string): void {
    if (abort.signal.aborted) return;
    h.onReceiptIgnored(reason, code);
    if (++ignoredReceipts >= MAX_IGNORED_RECEIPTS) abort.abort();
  }

  function onReceipt(w: number, rc: Uint8Array): void {
    let r: CheckedReceipt;
    try {
      r = h.checkReceipt(rc, session);
    } catch (e) {
      // Not signed by the collector, or not for our grant.
      return ignore((e as Error).message, (e as { code?: string }).code ?? 'RECEIPT_INVALID');
    }
    if (r.kind !== 'accept') return ignore('a revoke receipt in answer to a window', 'RECEIPT_KIND');
    const moved = windows.receipt(w, r.ranges);
    if (moved === 'uncovered') return ignore(`receipt for window ${w} does not cover every reading sent in it`, 'RECEIPT_SCOPE');
    h.onReceipt(r, r.ranges.reduce((n, x) => n + (x.last - x.first + 1), 0));
    if (moved !== undefined) commitCursor(moved);
    poke();
  }

  function onRevoked(revId: Uint8Array, rc: Uint8Array): void {
    let r: CheckedReceipt;
    try {
      r = h.checkReceipt(rc, session);
    } catch (e) {
      return ignore((e as Error).message, (e as { code?: string }).code ?? 'RECEIPT_INVALID');
    }
    if (r.kind !== 'revoke') return ignore('an accept receipt in answer to a revocation', 'RECEIPT_KIND');
    const rev = h.pendingRevocations().find((x) => key(x.objectId) === key(revId) && sentRevocations.has(key(x.objectId)));
    if (rev === undefined) return ignore('a revocation confirmation for no revocation we sent', 'RECEIPT_UNSOLICITED');
    h.onRevoked(r, rev);
  }

  function commitCursor(done: Done): void {
    h.log.receipted(h.collector, done.upTo, done);
  }

  const requests: Extract<PublishMessage, { t: 'request' }>[] = [];
  let answering = false;
  let cutOff = false;
  function request(m: Extract<PublishMessage, { t: 'request' }>): void {
    if (cutOff) return; // closing: what follows is not answered
    if (requests.length >= MAX_WAITING_REQUESTS) {
      cutOff = true;
      h.onBadMessage(`more than ${MAX_WAITING_REQUESTS} backfill requests waiting to be answered: closing the session`);
      session.close();
      return;
    }
    requests.push(m);
    if (answering) return;
    answering = true;
    void (async () => {
      try {
        for (let r = requests.shift(); r !== undefined; r = requests.shift()) await answer(r);
      } catch {
        session.close(); // the log could not be read: the collector asks again on its next session
      } finally {
        answering = false;
      }
    })();
  }

  /** §11.3: the collector asks for a seq range it is missing; answered from what the log still holds. */
  async function answer(req: Extract<PublishMessage, { t: 'request' }>): Promise<void> {
    if (!h.inScope(req.slot)) {
      await send({ t: 'range', id: req.id, rows: [], done: true });
      return;
    }
    let first = req.first;
    for (;;) {
      // Read within the message's bounds (rows and WINDOW_BYTES, at least one row), in seq order.
      const { rows, more } = h.log.readRange(req.slot, req.epoch, first, req.last, MAX_WINDOW_ROWS, WINDOW_BYTES);
      const done = !more;
      if (!(await send({ t: 'range', id: req.id, rows: rows.filter((r) => r.value.length <= MAX_READING_VALUE), done }))) return;
      if (done) return;
      first = rows[rows.length - 1]!.seq + 1;
    }
  }

  try {
    /** How the session ended when it ended before its windows did: closed, or cut off (above). */
    const closed = (): SessionOutcome => (ignoredReceipts >= MAX_IGNORED_RECEIPTS ? 'receipts_ignored' : 'closed');
    if (!(await send(h.announce()))) return closed();
    const cancelTimer = { fn: (): void => {} };
    const timeout = new Promise<'timeout'>((r) => (cancelTimer.fn = h.clock.setTimeout(() => r('timeout'), ANNOUNCE_TIMEOUT_MS)));
    const v = await Promise.race([verdictP, timeout, stopped]);
    verdict = undefined; // an answer after the timeout, or after the end, is no verdict either
    cancelTimer.fn();
    if (v !== 'accepted') return v === 'closed' ? closed() : v;
    const fresh = h.fresh?.() ?? [];
    for (const f of fresh) if (!(await send(f))) return closed();
    h.onFresh?.(fresh);
    for (const rev of h.pendingRevocations()) {
      sentRevocations.add(key(rev.objectId));
      if (!(await send({ t: 'revoke', rev: rev.bytes }))) return closed();
    }
    // Push from the last receipt (OI §11.3): whatever a previous session sent and was not receipted
    // goes again (and a slot passed over before that is in the consent now, from its own position:
    // ReadingLog.resumeAt). Pending readings go too: a receipt that comes before the log's commit
    // spares the card the write.
    sentUpTo = h.log.resumeAt(h.collector, h.inScope);
    windows.startAfter(sentUpTo);
    let lingerUntil: number | undefined;
    while (!abort.signal.aborted) {
      if (windows.inFlight >= MAX_IN_FLIGHT || h.log.lastId <= sentUpTo) {
        lingerUntil = undefined;
        // No await between the check and arming the wake: a commit, append or receipt cannot slip in between.
        await waitWake(windows.inFlight >= MAX_IN_FLIGHT ? 'none' : 'any');
        continue;
      }
      if (h.log.lastId - sentUpTo < WINDOW_ROWS) {
        const now = h.clock.now();
        lingerUntil ??= now + LINGER_MS;
        if (now < lingerUntil) {
          await waitWake('window', lingerUntil - now);
          continue;
        }
      }
      lingerUntil = undefined;
      // At most WINDOW_ROWS and a prefix within WINDOW_BYTES, read as such (not 512 values cut after).
      const rows = h.log.readAfter(sentUpTo, WINDOW_ROWS, WINDOW_BYTES);
      if (rows.length === 0) {
        // Every id up to lastId is gone (receipted, dropped by the bound, or a duplicate never stored).
        sentUpTo = h.log.lastId;
        continue;
      }
      const lastId = rows[rows.length - 1]!.id;
      // Log rows go out as they are: a row is a WireReading with an id (and a pending row's time),
      // which the encoder does not read; no copy per row. Rows out of scope are passed over (the
      // window says which slots, so its receipt is not taken for theirs); rows too large for any
      // message are passed over too, and stay in the log (receipt-floors.ts never deletes them).
      const sendable: typeof rows = [];
      const passed = new Map<string, number>();
      let tooLarge = 0;
      for (const r of rows) {
        if (!h.inScope(r.slot)) {
          if (!passed.has(r.slot)) passed.set(r.slot, r.id - 1);
        } else if (r.value.length > MAX_READING_VALUE) tooLarge++;
        else sendable.push(r);
      }
      if (tooLarge > 0) h.onTooLarge?.(tooLarge);
      const w = windows.open(lastId, sendable, passed);
      sentUpTo = lastId;
      if (sendable.length === 0) {
        const moved = windows.advance();
        if (moved !== undefined) commitCursor(moved);
        // Each read is synchronous: a backlog all out of scope must not hold the event loop (Modbus
        // timing, RN keepalives, operator sessions) for the whole walk.
        await new Promise<void>((r) => setImmediate(r));
        continue;
      }
      if (!(await send({ t: 'readings', w, rows: sendable }))) break;
      if (h.maxRate !== undefined) await pause(h.clock, (sendable.length / h.maxRate) * 1000, abort.signal);
    }
    return timedOut ? 'receipt_timeout' : closed();
  } finally {
    offCommit();
    offAppend();
    cancelReceiptTimer();
    abort.abort();
    ch.close().catch(() => undefined);
  }
}

function key(b: Uint8Array): string {
  return Buffer.from(b).toString('base64');
}

function pause(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const cancel = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      cancel();
      resolve();
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
