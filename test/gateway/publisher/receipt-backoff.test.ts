// A collector that accepts the announcement and never receipts (a review: each session resent up to
// MAX_IN_FLIGHT windows, 4 MiB, then RECEIPT_TIMEOUT and at most 30 s of backoff: ~5 GiB a day over
// a metered uplink). Sessions that end for their receipts now back off from 30 s up to 15 minutes
// (RECEIPT_BACKOFF). The real Publisher over real handshakes on an in-memory stitch, its clock a
// fake one, the jitter pinned to its top.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { RECEIPT_TIMEOUT_MS, WINDOW_ROWS } from '../../../src/gateway/publisher/publish-session.js';
import { Publisher, RECEIPT_BACKOFF } from '../../../src/gateway/publisher/publisher.js';
import { ReadingLog } from '../../../src/gateway/reading-log/reading-log.js';
import { decodePublish, encodePublish } from '../../../src/hil/publish-messages.js';
import type { DiscoveryGrantBody } from '../../../src/uzp/artefacts/discovery-grant.js';
import type { Channel } from '../../../src/uzp/session/channel.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { publishPair } from '../../helpers/publish-pair.js';
import { discoveryGrantOf, publisherOptions } from '../../helpers/publisher-options.js';
import { until } from '../../helpers/until.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-receipt-backoff-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BODY: DiscoveryGrantBody = {
  scope: [{ slot: 'tty-1' }],
  purposes: ['telemetry.store'],
  constraints: { retentionDays: 30 },
  policy: { allow: ['telemetry.store'], deny: ['ai.train'], retentionDays: 30, redistribution: false },
};


describe('a collector that never receipts', () => {
  it('is reconnected to ever more rarely, up to every 15 minutes, not every 30-60 s', async () => {
    const clock = new FakeClock(0);
    const p = publishPair('collector');
    const { dg, grant } = discoveryGrantOf(p, BODY);
    const log = new ReadingLog({ file: join(dir, 'gateway.db'), durability: 'full', receipts: true, clock });
    // A whole window's worth: windows go out at once, without waiting LINGER_MS on the fake clock.
    for (let seq = 0; seq < WINDOW_ROWS; seq++) log.append({ slot: 'tty-1', device: 'd', kind: 'serial', epoch: 1, seq, ts: 1, value: Uint8Array.of(1) });
    /** Per session: when it connected, and whether a window reached the collector. */
    const sessions: { at: number; window: boolean }[] = [];
    const publisher = new Publisher({
      ...publisherOptions(p, {
        dg,
        grant,
        log,
        logger: pino({ level: 'silent' }),
        clock,
        connect: async () => {
          const pair = p.another();
          const s = { at: clock.now(), window: false };
          sessions.push(s);
          pair.collector.on('channel', (ch: Channel) =>
            ch.on('message', (b: Uint8Array) => {
              const m = decodePublish(b);
              if (m.t === 'announce') void ch.trySend(encodePublish({ t: 'accepted', grant: grant.objectId }));
              if (m.t === 'readings') s.window = true; // and never a receipt
            }),
          );
          return pair.gateway;
        },
      }),
      random: () => 0.999,
    });
    publisher.start();
    const waits: number[] = [];
    for (let i = 0; i < 7; i++) {
      await until(() => sessions.length === i + 1 && sessions[i]!.window);
      clock.advance(RECEIPT_TIMEOUT_MS); // no receipt: the session ends
      await until(() => publisher.status().state === 'waiting');
      const endedAt = clock.now();
      // Then time passes, 5 s at a time, until the next session.
      while (sessions.length === i + 1) {
        clock.advance(5_000);
        await new Promise((r) => setTimeout(r, 2));
      }
      waits.push(sessions[i + 1]!.at - endedAt);
    }
    expect(publisher.status().last_error?.code).toBe('RECEIPT_TIMEOUT');
    publisher.stop();
    log.close();
    // Before: at most 30 s each (the connect backoff's cap).
    expect(waits.at(-1)).toBeGreaterThanOrEqual(14 * 60_000);
    // Doubling from RECEIPT_BACKOFF.baseMs (the jitter at its top), then held at its cap.
    const ceilings = waits.map((_, i) => Math.min(RECEIPT_BACKOFF.capMs, RECEIPT_BACKOFF.baseMs * 2 ** i));
    waits.forEach((w, i) => {
      expect(w).toBeGreaterThanOrEqual(ceilings[i]! * 0.999 - 1);
      expect(w).toBeLessThanOrEqual(ceilings[i]! + 5_000);
    });
  }, 60_000);
});
