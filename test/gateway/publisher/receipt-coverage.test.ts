// What a collector's receipts let the gateway delete (docs/PROFILE.md "Deleting", CONFIG.md
// `reading_log`): a reading leaves the reading log, and counts as receipted, only when a receipt
// covers it. Passing a reading over (a slot outside the grant, a reading too large for any
// message, a slot the collector says it holds revoked) is not receipting it. Before, the
// publisher's cursor moved over what it passed over and the log deleted it all with the next commit
// (a review's repros: 100 readings of an unpublished slot gone with no window sent; 50 readings of
// a granted slot gone after one late `accepted`). And a collector cannot make the gateway keep
// what it names, nor write an audit line per message without end. The real Publisher over a real
// handshake on an in-memory stitch; the collector is the real intake into SQLite, or a scripted one
// where it must misbehave.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { Consents } from '../../../src/collector/consents.js';
import { serveIntake, type IntakeStats } from '../../../src/collector/intake.js';
import { Purges } from '../../../src/collector/purges.js';
import { receiptSigner } from '../../../src/collector/receipts.js';
import { SqliteStore } from '../../../src/collector/store/sqlite.js';
import { MAX_IGNORED_RECEIPTS } from '../../../src/gateway/publisher/publish-session.js';
import { Publisher } from '../../../src/gateway/publisher/publisher.js';
import { ReadingLog } from '../../../src/gateway/reading-log/reading-log.js';
import { decodePublish, encodePublish, MAX_READING_VALUE, type PublishMessage } from '../../../src/hil/publish-messages.js';
import type { DiscoveryGrantBody } from '../../../src/uzp/artefacts/discovery-grant.js';
import { toHex } from '../../../src/uzp/bytes.js';
import type { Channel } from '../../../src/uzp/session/channel.js';
import type { Session } from '../../../src/uzp/session/session.js';
import { publishPair } from '../../helpers/publish-pair.js';
import { discoveryGrantOf, publisherOptions } from '../../helpers/publisher-options.js';
import { until } from '../../helpers/until.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-receipt-coverage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** The collector is granted tty-1 only; tty-2 is, say, a local debug console no grant covers. */
const BODY: DiscoveryGrantBody = {
  scope: [{ slot: 'tty-1' }],
  purposes: ['telemetry.store'],
  constraints: { retentionDays: 30 },
  policy: { allow: ['telemetry.store'], deny: ['ai.train'], retentionDays: 30, redistribution: false },
};

const reading = (slot: string, seq: number, value: Uint8Array = Uint8Array.of(0x60 + (seq % 20))) => ({ slot, device: `dev-${slot}`, kind: 'serial', epoch: 1, seq, ts: 1_700_000_000_000 + seq, value });

/** A Publisher for one collector, its log, its audit lines; `connect` gives the first session, then none (unreachable). */
function rig() {
  const p = publishPair('collector');
  const { dg, grant } = discoveryGrantOf(p, BODY);
  const log = new ReadingLog({ file: join(dir, `gateway-${++files}.db`), durability: 'full', receipts: true });
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  const key = toHex(p.col.id.cid);
  let sessions = 0;
  const publisher = new Publisher(
    publisherOptions(p, {
      dg,
      grant,
      log,
      logger,
      connect: (signal) =>
        sessions++ === 0
          ? Promise.resolve(p.gateway)
          : new Promise<Session>((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('stopped')), { once: true })),
    }),
  );
  const audited = (action: string): Record<string, unknown>[] => lines.filter((l) => l.action === action);
  return { p, dg, grant, log, key, publisher, audited };
}

/** A collector that says and does what the test wants. */
function scripted(session: Session) {
  const messages: PublishMessage[] = [];
  let ch: Channel | undefined;
  session.on('channel', (c: Channel) => {
    ch = c;
    c.on('message', (b: Uint8Array) => void messages.push(decodePublish(b)));
  });
  return { messages, send: (m: PublishMessage) => void ch!.trySend(encodePublish(m)), windows: () => messages.filter((m) => m.t === 'readings') };
}


/** Starts `r`'s publisher and has the scripted collector accept its announcement: publishing. */
async function publishing(r: ReturnType<typeof rig>): Promise<ReturnType<typeof scripted>> {
  const side = scripted(r.p.collector);
  r.publisher.start();
  await until(() => side.messages.some((m) => m.t === 'announce'));
  side.send({ t: 'accepted', grant: r.grant.objectId });
  await until(() => r.publisher.status().state === 'publishing');
  return side;
}

describe('what receipts cover is what leaves the log', () => {
  it('a real collector granted tty-1: its receipted readings go, an unpublished slot and a reading too large for any message stay', async () => {
    const r = rig();
    const store = SqliteStore.open(join(dir, `collector-${files}.db`));
    const stats: IntakeStats = { sessions: 0, windows: 0, stored: 0, duplicates: 0, conflicts: 0, refused: 0 };
    serveIntake(r.p.collector, r.p.grant, { provider: r.p.d.provider, self: r.p.col.id.cid, store, receipts: receiptSigner(r.p.d.provider, r.p.col.id.signer, ['telemetry.store']), consents: new Consents(), purges: new Purges(store, pino({ level: 'silent' })), purposes: ['telemetry.store'], skewS: 300, logger: pino({ level: 'silent' }), now: () => r.p.d.clock(), stats });
    for (let seq = 0; seq < 30; seq++) {
      r.log.append(reading('tty-1', seq));
      r.log.append(reading('tty-2', seq));
    }
    r.log.append(reading('tty-1', 30, new Uint8Array(MAX_READING_VALUE + 1).fill(0x61)));
    for (let seq = 31; seq < 40; seq++) r.log.append(reading('tty-1', seq));
    const last = r.log.lastId;
    r.publisher.start();
    await until(() => r.log.cursor(r.key) === last);
    r.log.flush(); // the cursor's advance and what it lets go are written with a commit
    const status = r.publisher.status();
    r.publisher.stop();
    expect(await store.counts(r.p.gw.id.cid)).toEqual(new Map([['tty-1', 39]]));
    // Before: all 30 of tty-2 and the large one deleted, and counted receipted (80).
    expect(r.log.read('tty-2', { epoch: 1, seq: 0 }, 100).map((x) => x.seq)).toEqual([...Array(30).keys()]);
    expect(r.log.read('tty-1', { epoch: 1, seq: 0 }, 100).map((x) => x.seq)).toEqual([30]);
    expect(r.log.stats()).toMatchObject({ readings: 31, receipted: 39, dropped: {} });
    expect(status.too_large).toBe(1);
    // What the log still holds, none of it for this collector: nothing awaits its receipt.
    expect(status.unreceipted).toBe(0);
    r.log.close();
    await store.close();
  }, 30_000);

  it('status: a collector granted tty-1 awaits the readings of tty-1 only, not those of a slot outside its grant or too large to send', () => {
    const r = rig();
    for (let seq = 0; seq < 20; seq++) {
      r.log.append(reading('tty-1', seq));
      r.log.append(reading('tty-2', seq));
    }
    r.log.append(reading('tty-1', 20, new Uint8Array(MAX_READING_VALUE + 1).fill(0x61)));
    // Before: 41, every reading after its cursor, though tty-2 and the large one are never sent to it.
    expect(r.publisher.status().unreceipted).toBe(20);
    r.log.close();
  });

  it('a slot named in `accepted.revoked` with the verdict is not sent, and its readings stay in the log', async () => {
    const r = rig();
    const side = scripted(r.p.collector);
    for (let seq = 0; seq < 50; seq++) r.log.append(reading('tty-1', seq));
    r.publisher.start();
    await until(() => side.messages.some((m) => m.t === 'announce'));
    side.send({ t: 'accepted', grant: r.grant.objectId, revoked: ['tty-1', 'not-a-slot-of-the-grant'] });
    await until(() => r.log.cursor(r.key) === r.log.lastId);
    r.log.flush();
    const there = r.audited('publish.revoked_there');
    r.publisher.stop();
    expect(side.windows()).toEqual([]);
    // Before: the 50 readings deleted and counted receipted, though no receipt covered any.
    expect(r.log.stats()).toMatchObject({ readings: 50, receipted: 0 });
    // Only a slot of the grant is taken from the collector's word.
    expect(there.map((l) => l.slots)).toEqual([['tty-1']]);
    r.log.close();
  });

  it('an `accepted` after the verdict changes nothing: a granted slot it names revoked is still sent and kept until receipted', async () => {
    const r = rig();
    const side = await publishing(r);
    side.send({ t: 'accepted', grant: r.grant.objectId, revoked: ['tty-1'] }); // after the verdict
    side.send({ t: 'refused', code: 'REVOKED' }); // and a refusal, as late
    for (let seq = 0; seq < 50; seq++) r.log.append(reading('tty-1', seq));
    await until(() => side.windows().reduce((n, m) => n + (m.t === 'readings' ? m.rows.length : 0), 0) === 50);
    r.log.append(reading('tty-2', 0)); // one more commit
    const status = r.publisher.status();
    r.publisher.stop();
    // Before: no window was sent and the 50 readings were deleted with the next commit.
    expect(r.log.read('tty-1', { epoch: 1, seq: 0 }, 100)).toHaveLength(50);
    expect(r.log.cursor(r.key)).toBe(0);
    expect(r.log.stats().receipted).toBe(0);
    expect(status.state).toBe('publishing');
    expect(r.audited('publish.accepted')).toHaveLength(1);
    expect(r.audited('publish.revoked_there')).toEqual([]);
    expect(r.audited('publish.refused')).toEqual([]);
    r.log.close();
  });
});

describe('a hostile collector', () => {
  it('floods `accepted` with made-up slots and sends receipts that do not check out: one audit line per kind, a few ignored receipts, and the session is closed', async () => {
    const r = rig();
    const side = await publishing(r);
    const N = 2000;
    for (let i = 0; i < N; i++) side.send({ t: 'accepted', grant: r.grant.objectId, revoked: Array.from({ length: 64 }, (_, j) => `x${i}-${j}`) });
    for (let i = 0; i < N; i++) side.send({ t: 'receipt', w: 1, rc: Uint8Array.of(0x84, 0x40, 0xa0, 0x40, 0x40) });
    // The session ends after MAX_IGNORED_RECEIPTS; the next one cannot connect (this rig's collector is gone).
    await until(() => r.publisher.status().last_error?.code === 'RECEIPTS_IGNORED');
    await until(() => r.p.gateway.state === 'closed');
    const status = r.publisher.status();
    r.publisher.stop();
    // Before: 2001 publish.accepted, 2000 publish.revoked_there (128,000 slot names kept), 2000 receipt_ignored, still publishing.
    expect(r.audited('publish.accepted')).toHaveLength(1);
    expect(r.audited('publish.revoked_there')).toEqual([]);
    expect(r.audited('publish.receipt_ignored')).toHaveLength(MAX_IGNORED_RECEIPTS);
    expect(status.state).not.toBe('publishing');
    // Nothing it named is held against the grant's slots.
    expect(r.publisher.receives('tty-1')).toBe(true);
    r.log.close();
  }, 60_000);
});
