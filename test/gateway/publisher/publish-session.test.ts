// The gateway's side of one publishing session (src/gateway/publisher/publish-session.ts) against a
// collector side written here, over two real sessions (in-memory stitch, real handshake and
// blocks): announce first, then windows of the real reading log in order; the cursor moves and the
// log is trimmed only for receipts signed by the session's collector, for our grant, covering the
// window (OI §11.5) — a receipt signed by anyone else, for another grant, or short of the window is
// ignored and nothing is deleted; backfill requests are answered from the log (§11.3).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePublish, encodePublish, MAX_READING_VALUE, type PublishMessage, type WireReading } from '../../../src/hil/publish-messages.js';
import { rangesOf } from '../../../src/hil/publish-ranges.js';
import { receiptSigner } from '../../../src/collector/receipts.js';
import { ANNOUNCE_TIMEOUT_MS, MAX_IN_FLIGHT, MAX_WAITING_REQUESTS, RECEIPT_TIMEOUT_MS, runPublishSession, WINDOW_BYTES, WINDOW_ROWS, type PublishSessionHooks } from '../../../src/gateway/publisher/publish-session.js';
import { receiptChecker } from '../../../src/gateway/publisher/receipt-check.js';
import { ReadingLog } from '../../../src/gateway/reading-log/reading-log.js';
import { systemClock } from '../../../src/lib/clock.js';
import { toHex } from '../../../src/uzp/bytes.js';
import { generateIdentity } from '../../../src/uzp/identity/identity.js';
import type { Channel } from '../../../src/uzp/session/channel.js';
import type { Session } from '../../../src/uzp/session/session.js';
import { publishPair as pair } from '../../helpers/publish-pair.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-publish-session-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

function fill(log: ReadingLog, slot: string, n: number): void {
  for (let s = 0; s < n; s++) log.append({ slot, device: `dev-${slot}`, kind: 'serial', epoch: 1, seq: s, ts: 1_700_000_000_000 + s, value: Uint8Array.of(0x60 + (s % 20)) });
  log.flush();
}

/** The collector side: its first channel, messages decoded, a way to answer. */
function collectorSide(session: Session): { messages: PublishMessage[]; next: (t: PublishMessage['t']) => Promise<PublishMessage>; send: (m: PublishMessage) => void } {
  const messages: PublishMessage[] = [];
  let ch: Channel | undefined;
  const waiters: { t: string; resolve: (m: PublishMessage) => void }[] = [];
  let seen = 0;
  session.on('channel', (c: Channel) => {
    ch = c;
    c.on('message', (b: Uint8Array) => {
      const m = decodePublish(b);
      messages.push(m);
      const w = waiters.findIndex((x) => x.t === m.t);
      if (w >= 0) {
        seen = messages.length;
        waiters.splice(w, 1)[0]!.resolve(m);
      }
    });
  });
  return {
    messages,
    next: (t) => {
      const already = messages.slice(seen).find((m) => m.t === t);
      if (already) {
        seen = messages.indexOf(already) + 1;
        return Promise.resolve(already);
      }
      return new Promise((resolve) => waiters.push({ t, resolve }));
    },
    send: (m) => void ch!.trySend(encodePublish(m)),
  };
}

function setup(rows: number, extra: Partial<PublishSessionHooks> = {}) {
  const p = pair();
  const log = new ReadingLog({ file: join(dir, `log-${++files}.db`), durability: 'full' });
  fill(log, 'tty-1', rows);
  // The only collector, by its key: what the log's deletes wait for (createGateway: Publishers.audience()).
  log.setAudience(() => [toHex(p.col.id.cid)]);
  const grantId = new Uint8Array(32).fill(7);
  const ignored: string[] = [];
  const onTooLarge: ((n: number) => void)[] = [];
  const hooks: PublishSessionHooks = {
    log,
    collector: toHex(p.col.id.cid),
    clock: systemClock,
    announce: () => ({ t: 'announce', action: 'new', board: 'virtual', catalogue: [], grant: Uint8Array.of(1, 2, 3), dropped: {}, digests: { catalogue: new Uint8Array(32) } }),
    inScope: () => true,
    checkReceipt: receiptChecker(p.d.provider, p.gw.id.cid, grantId),
    pendingRevocations: () => [],
    onAccepted: () => undefined,
    onRefused: () => undefined,
    onReceipt: () => undefined,
    onReceiptIgnored: (_reason, code) => void ignored.push(code),
    onRevoked: () => undefined,
    onBadMessage: () => undefined,
    onTooLarge: (n) => onTooLarge.forEach((f) => f(n)),
    ...extra,
  };
  const side = collectorSide(p.collector);
  const run = runPublishSession(p.gateway, hooks);
  return { ...p, log, grantId, ignored, onTooLarge, side, run };
}

function windowRows(m: PublishMessage): WireReading[] {
  if (m.t !== 'readings') throw new Error(`expected readings, got ${m.t}`);
  return [...m.rows];
}

describe('publish session, gateway side', () => {
  it('announces first, pushes the log in order, and deletes only what a valid receipt covers', async () => {
    const s = setup(600);
    expect((await s.side.next('announce')).t).toBe('announce');
    s.side.send({ t: 'accepted', grant: s.grantId });
    const w1 = await s.side.next('readings');
    const rows = windowRows(w1);
    expect(rows.map((r) => r.seq)).toEqual([...Array(512).keys()]);
    const signer = receiptSigner(s.d.provider, s.col.id.signer, ['telemetry.store']);
    s.side.send({ t: 'receipt', w: (w1 as { w: number }).w, rc: signer.accept(s.gw.id.cid, s.grantId, ['*'], rangesOf(rows)) });
    await until(() => s.log.stats().receipted === 512);
    expect(s.log.cursor(toHex(s.col.id.cid))).toBeGreaterThan(0);
    expect(s.log.read('tty-1', { epoch: 1, seq: 0 }, 1000).map((r) => r.seq)[0]).toBe(512);
    expect(s.ignored).toEqual([]);
    s.gateway.close();
    expect(await s.run).toBe('closed');
  });

  it('receipts for every window but the first: at most MAX_IN_FLIGHT windows are held, not the whole backlog', async () => {
    const s = setup((MAX_IN_FLIGHT + 8) * WINDOW_ROWS);
    await s.side.next('announce');
    s.side.send({ t: 'accepted', grant: s.grantId });
    const signer = receiptSigner(s.d.provider, s.col.id.signer, ['telemetry.store']);
    const first = await s.side.next('readings');
    // Receipt each later window as it comes; never the first.
    let windowsSeen = 1;
    for (;;) {
      const next = await Promise.race([s.side.next('readings'), new Promise<undefined>((r) => setTimeout(() => r(undefined), 300))]);
      if (next === undefined) break;
      windowsSeen++;
      s.side.send({ t: 'receipt', w: (next as { w: number }).w, rc: signer.accept(s.gw.id.cid, s.grantId, ['*'], rangesOf(windowRows(next))) });
    }
    // Before: receipted windows behind the first no longer counted, and all 24 went out (and were held).
    expect(windowsSeen).toBe(MAX_IN_FLIGHT);
    expect(s.log.cursor(toHex(s.col.id.cid))).toBe(0); // nothing passes the first window
    void first;
    s.gateway.close();
    expect(await s.run).toBe('closed');
  });

  it('signals what changed (OI §11.4) right after the verdict, before any window, and reports it sent', async () => {
    const digest = new Uint8Array(32).fill(9);
    const sent: string[][] = [];
    const s = setup(3, {
      fresh: () => [
        { t: 'fresh', what: 'catalogue', digest, at_ms: 1_700_000_000_000 },
        { t: 'fresh', what: 'config', digest, at_ms: 1_700_000_000_000 },
      ],
      onFresh: (f) => void sent.push(f.map((x) => x.what)),
    });
    await s.side.next('announce');
    // Nothing before the verdict: a refused announcement hears of no change.
    expect(sent).toEqual([]);
    s.side.send({ t: 'accepted', grant: s.grantId });
    await s.side.next('readings');
    expect(s.side.messages.map((m) => (m.t === 'fresh' ? `fresh ${m.what}` : m.t))).toEqual(['announce', 'fresh catalogue', 'fresh config', 'readings']);
    expect(sent).toEqual([['catalogue', 'config']]);
    s.gateway.close();
    expect(await s.run).toBe('closed');
  });

  it('ignores receipts not signed by the collector, for another grant, or short of the window: nothing is deleted', async () => {
    const s = setup(100);
    await s.side.next('announce');
    s.side.send({ t: 'accepted', grant: s.grantId });
    const w = await s.side.next('readings');
    const rows = windowRows(w);
    const wn = (w as { w: number }).w;
    const other = generateIdentity(s.d.provider);
    // Signed by another key (claiming to be whoever it is): not the session's collector.
    s.side.send({ t: 'receipt', w: wn, rc: receiptSigner(s.d.provider, other.signer, ['telemetry.store']).accept(s.gw.id.cid, s.grantId, ['*'], rangesOf(rows)) });
    const signer = receiptSigner(s.d.provider, s.col.id.signer, ['telemetry.store']);
    // The collector's, but for another Discovery Grant.
    s.side.send({ t: 'receipt', w: wn, rc: signer.accept(s.gw.id.cid, new Uint8Array(32).fill(9), ['*'], rangesOf(rows)) });
    // The collector's, for our grant, but missing the last reading of the window.
    s.side.send({ t: 'receipt', w: wn, rc: signer.accept(s.gw.id.cid, s.grantId, ['*'], rangesOf(rows.slice(0, -1))) });
    // Addressed to another gateway.
    s.side.send({ t: 'receipt', w: wn, rc: signer.accept(other.cid, s.grantId, ['*'], rangesOf(rows)) });
    await until(() => s.ignored.length === 4);
    expect(s.ignored).toEqual(['RECEIPT_ISSUER', 'RECEIPT_GRANT', 'RECEIPT_SCOPE', 'DISCOVERY_AUDIENCE']);
    expect(s.log.stats()).toMatchObject({ readings: 100, receipted: 0 });
    expect(s.log.cursor(toHex(s.col.id.cid))).toBe(0);
    s.gateway.close();
    await s.run;
  });

  it('answers a backfill request from the log, in chunks, and refusal ends the session as refused', async () => {
    const s = setup(50);
    await s.side.next('announce');
    s.side.send({ t: 'accepted', grant: s.grantId });
    await s.side.next('readings');
    s.side.send({ t: 'request', id: 7, slot: 'tty-1', epoch: 1, first: 10, last: 19 });
    const r = await s.side.next('range');
    expect(r).toMatchObject({ t: 'range', id: 7, done: true });
    expect((r as Extract<PublishMessage, { t: 'range' }>).rows.map((x) => x.seq)).toEqual([...Array(10).keys()].map((i) => i + 10));
    s.gateway.close();
    await s.run;
    const t = setup(5);
    await t.side.next('announce');
    t.side.send({ t: 'refused', code: 'DISCOVERY_AUDIENCE' });
    expect(await t.run).toBe('refused');
  });

  it('answers backfill requests one at a time, in order; a collector that piles them up is cut off', async () => {
    const bad: string[] = [];
    const s = setup(50, { onBadMessage: (r) => void bad.push(r) });
    await s.side.next('announce');
    s.side.send({ t: 'accepted', grant: s.grantId });
    await s.side.next('readings');
    // A few, answered in the order asked.
    for (let id = 1; id <= 3; id++) s.side.send({ t: 'request', id, slot: 'tty-1', epoch: 1, first: id, last: id });
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) ids.push(((await s.side.next('range')) as { id: number }).id);
    expect(ids).toEqual([1, 2, 3]);
    expect(bad).toEqual([]);
    // Far more than can wait, in one go: the session is closed rather than holding them all.
    for (let id = 10; id < 10 + MAX_WAITING_REQUESTS + 5; id++) s.side.send({ t: 'request', id, slot: 'tty-1', epoch: 1, first: 0, last: 49 });
    expect(await s.run).toBe('closed');
    expect(bad.some((r) => r.includes('backfill requests waiting'))).toBe(true);
  });

  it('bounds a window by bytes and passes over a reading too large for any message, reporting it', async () => {
    const s = setup(0);
    const tooLarge: number[] = [];
    s.onTooLarge.push((n) => tooLarge.push(n));
    const big = (n: number, seq: number) => ({ slot: 'tty-1', device: 'dev-tty-1', kind: 'serial' as const, epoch: 1, seq, ts: 1_700_000_000_000 + seq, value: new Uint8Array(n).fill(0x61) });
    s.log.append(big(200 * 1024, 0));
    s.log.append(big(200 * 1024, 1));
    s.log.append(big(MAX_READING_VALUE + 1, 2));
    s.log.append(big(10, 3));
    s.log.flush();
    await s.side.next('announce');
    s.side.send({ t: 'accepted', grant: s.grantId });
    const signer = receiptSigner(s.d.provider, s.col.id.signer, ['telemetry.store']);
    const seen: number[][] = [];
    while (seen.flat().length < 3) {
      const w = await s.side.next('readings');
      const rows = windowRows(w);
      // 256 KiB per window, one row at least: the two 200 KiB readings never share a window.
      expect(rows.reduce((a, r) => a + r.value.length, 0) <= WINDOW_BYTES || rows.length === 1).toBe(true);
      seen.push(rows.map((r) => r.seq));
      s.side.send({ t: 'receipt', w: (w as { w: number }).w, rc: signer.accept(s.gw.id.cid, s.grantId, ['*'], rangesOf(rows)) });
    }
    expect(seen).toEqual([[0], [1], [3]]);
    expect(tooLarge).toEqual([1]);
    s.gateway.close();
    await s.run;
  });
});

describe('publish session, the verdict', () => {
  it('an answer that comes after the announcement timed out is no verdict', async () => {
    const clock = new FakeClock(0);
    const verdicts: string[] = [];
    const bad: string[] = [];
    const s = setup(3, { clock, onAccepted: () => void verdicts.push('accepted'), onRefused: (code) => void verdicts.push(`refused ${code}`), onBadMessage: (r) => void bad.push(r) });
    await s.side.next('announce');
    clock.advance(ANNOUNCE_TIMEOUT_MS);
    expect(await s.run).toBe('timeout');
    s.side.send({ t: 'accepted', grant: s.grantId });
    s.side.send({ t: 'refused', code: 'REVOKED' });
    // A gateway's message from the collector: handled after the two, in order.
    s.side.send({ t: 'fresh', what: 'config', digest: new Uint8Array(32), at_ms: 1 });
    await until(() => bad.some((r) => r.startsWith('fresh')));
    // Before: the late answers were taken (the publisher then showed `publishing`, then `refused`, for a session that had ended).
    expect(verdicts).toEqual([]);
  });
});

describe('publish session, a slow uplink', () => {
  it('receipts coming steadily keep the session going however long the windows in flight take; silence ends it', async () => {
    const clock = new FakeClock(0);
    const s = setup(20 * WINDOW_ROWS, { clock });
    await s.side.next('announce');
    s.side.send({ t: 'accepted', grant: s.grantId });
    const signer = receiptSigner(s.d.provider, s.col.id.signer, ['telemetry.store']);
    const running = async (): Promise<string> => Promise.race([s.run, new Promise<string>((r) => setTimeout(() => r('running'), 50))]);
    // One receipt every 10 s (a collector behind a link that takes 10 s per window): 60 s in all,
    // twice RECEIPT_TIMEOUT_MS after the first windows were opened.
    for (let i = 0; i < 6; i++) {
      const w = await s.side.next('readings');
      clock.advance(10_000);
      s.side.send({ t: 'receipt', w: (w as { w: number }).w, rc: signer.accept(s.gw.id.cid, s.grantId, ['*'], rangesOf(windowRows(w))) });
      await until(() => s.log.stats().receipted >= (i + 1) * WINDOW_ROWS);
      // Before: RECEIPT_TIMEOUT at 30 s, counted from the oldest window's opening.
      expect(await running()).toBe('running');
    }
    // Then nothing: the session ends RECEIPT_TIMEOUT_MS after the last receipt.
    clock.advance(RECEIPT_TIMEOUT_MS - 1);
    expect(await running()).toBe('running');
    clock.advance(1);
    expect(await s.run).toBe('receipt_timeout');
  });
});

describe('publish session, a backlog out of scope', () => {
  it('walks it a window per turn of the event loop, not in one synchronous stretch', async () => {
    // The turn of the event loop on which the walk looked at each row (one row per big window).
    let turns = 0;
    const turnOfRow: number[] = [];
    const s = setup(0, { inScope: () => (turnOfRow.push(turns), false) });
    // 150 readings of 130 KiB, one per 256 KiB window, then a full window's worth of small ones (so no
    // window waits to fill: LINGER_MS): 150 windows in a row with nothing to send.
    const big = new Uint8Array(130 * 1024).fill(0x61);
    for (let seq = 0; seq < 150 + WINDOW_ROWS; seq++) s.log.append({ slot: 'tty-1', device: 'dev-tty-1', kind: 'serial', epoch: 1, seq, ts: 1_700_000_000_000 + seq, value: seq < 150 ? big : Uint8Array.of(1) });
    s.log.flush();
    const last = s.log.lastId;
    await s.side.next('announce');
    let ticking = true;
    const tick = (): void => {
      turns++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    s.side.send({ t: 'accepted', grant: s.grantId });
    await until(() => s.log.cursor(toHex(s.col.id.cid)) >= last, 20_000);
    ticking = false;
    // Before: the whole walk ran within one turn of the loop (Modbus timing, keepalives and operators waited).
    expect(new Set(turnOfRow.slice(0, 150)).size).toBe(150);
    expect(s.side.messages.filter((m) => m.t === 'readings')).toEqual([]);
    s.gateway.close();
    expect(await s.run).toBe('closed');
  }, 30_000);
});

async function until(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
