// A slot the collector holds revoked and the gateway does not (its revocations file restored from a
// backup, or lost): the collector names it in `accepted`, the gateway's publisher stops sending it,
// and its windows are receipted. Before, the collector refused that slot's readings, receipted only
// the rest, the gateway ignored each receipt as not covering its window (RECEIPT_SCOPE), and
// publishing to that collector stalled for every slot, session after session (a review's repro),
// until the log's byte bound dropped readings. The real Publisher and the real collector intake,
// over a real handshake on an in-memory stitch, into SQLite.

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
import { Publisher } from '../../../src/gateway/publisher/publisher.js';
import { ReadingLog } from '../../../src/gateway/reading-log/reading-log.js';
import type { DiscoveryGrantBody } from '../../../src/uzp/artefacts/discovery-grant.js';
import { toHex } from '../../../src/uzp/bytes.js';
import { publishPair } from '../../helpers/publish-pair.js';
import { discoveryGrantOf, publisherOptions } from '../../helpers/publisher-options.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-revoked-there-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BODY: DiscoveryGrantBody = {
  scope: [{ slot: 'tty-1' }, { slot: 'tty-2' }],
  purposes: ['telemetry.store'],
  constraints: { retentionDays: 30 },
  policy: { allow: ['telemetry.store'], deny: ['ai.train'], retentionDays: 30, redistribution: false },
};

describe('a slot revoked at the collector only', () => {
  it('is named in `accepted`; the gateway stops sending it and every window is receipted', async () => {
    const p = publishPair('collector');
    const store = SqliteStore.open(join(dir, 'collector.db'));
    const stats: IntakeStats = { sessions: 0, windows: 0, stored: 0, duplicates: 0, conflicts: 0, refused: 0 };
    const { dg, grant } = discoveryGrantOf(p, BODY);
    const consents = new Consents();
    consents.note(toHex(p.gw.id.cid), toHex(grant.objectId), ['tty-2']); // the collector's record
    serveIntake(p.collector, p.grant, { provider: p.d.provider, self: p.col.id.cid, store, receipts: receiptSigner(p.d.provider, p.col.id.signer, ['telemetry.store']), consents, purges: new Purges(store, pino({ level: 'silent' })), purposes: ['telemetry.store'], skewS: 300, logger: pino({ level: 'silent' }), now: () => p.d.clock(), stats });

    const log = new ReadingLog({ file: join(dir, 'gateway.db'), durability: 'full', receipts: true });
    for (let seq = 0; seq < 20; seq++) for (const slot of ['tty-1', 'tty-2']) log.append({ slot, device: `dev-${slot}`, kind: 'serial', epoch: 1, seq, ts: 1, value: Uint8Array.of(seq) });
    const last = log.lastId;
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
    const key = toHex(p.col.id.cid);
    // The gateway's own record has no revocation (its file was restored from before it).
    const publisher = new Publisher(publisherOptions(p, { dg, grant, log, logger, connect: async () => p.gateway }));
    publisher.start();
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && log.cursor(key) < last) await new Promise((r) => setTimeout(r, 10));
    const status = publisher.status();
    publisher.stop();
    // Every window receipted: the cursor is past the last reading (before: 0, the first window never covered).
    expect(log.cursor(key)).toBe(last);
    expect(status.last_error).toBeUndefined();
    expect(await store.counts(p.gw.id.cid)).toEqual(new Map([['tty-1', 20]]));
    expect(lines.filter((l) => l.action === 'publish.receipt_ignored')).toEqual([]);
    expect(lines.filter((l) => l.action === 'publish.revoked_there').map((l) => l.slots)).toEqual([['tty-2']]);
    log.close();
  });
});
