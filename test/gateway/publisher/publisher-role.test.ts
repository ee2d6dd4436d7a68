// The publisher announces only to a collector (PCert role "collector"): a configured collector CID
// whose holder is an operator gets no announcement and no reading; the publisher says why
// (PCERT_ROLE in its status and one warn line) and keeps retrying with backoff. The session runs
// over a real handshake on an in-memory stitch (test/helpers/publish-pair.ts).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../../src/gateway/hil/audit.js';
import { Publisher } from '../../../src/gateway/publisher/publisher.js';
import { ReadingLog } from '../../../src/gateway/reading-log/reading-log.js';
import { systemClock } from '../../../src/lib/clock.js';
import type { Channel } from '../../../src/uzp/session/channel.js';
import { publishPair } from '../../helpers/publish-pair.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-publisher-role-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(role: 'operator' | 'collector') {
  const p = publishPair(role);
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  const log = new ReadingLog({ file: join(dir, `${role}.db`), durability: 'full' });
  log.append({ slot: 'tty-1', device: 'd', kind: 'serial', epoch: 1, seq: 0, ts: 1, value: Uint8Array.of(1) });
  const heard: Uint8Array[] = [];
  p.collector.on('channel', (c: Channel) => c.on('message', (b: Uint8Array) => void heard.push(b)));
  let connects = 0;
  const publisher = new Publisher({
    collector: p.col.id.cid,
    connect: async () => {
      connects++;
      return p.gateway;
    },
    log,
    consent: () => ({ grant: { objectId: new Uint8Array(32), body: { scope: [{ slot: '*' }], constraints: {} } } as never, revokedSlots: new Set(), revoked: false }),
    announce: () => ({ t: 'announce', action: 'new', board: 'virtual', catalogue: [], grant: Uint8Array.of(1), dropped: {}, digests: { catalogue: new Uint8Array(32) } }),
    checkReceipt: () => {
      throw new Error('no receipts here');
    },
    pendingRevocations: () => [],
    confirmed: () => undefined,
    inForce: () => undefined,
    audit: new AuditLog(logger),
    logger,
    clock: systemClock,
  });
  publisher.start();
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline && (role === 'operator' ? publisher.status().last_error === undefined : heard.length === 0)) await new Promise((r) => setTimeout(r, 10));
  const status = publisher.status();
  publisher.stop();
  log.close();
  return { status, heard, lines, connects };
}

describe('publisher: the peer must be a collector', () => {
  it('an operator behind the configured CID gets no announcement: PCERT_ROLE in the status, one warn line', async () => {
    const r = await run('operator');
    expect(r.heard).toEqual([]);
    expect(r.status.last_error).toMatchObject({ code: 'PCERT_ROLE', message: expect.stringMatching(/presents an operator PCert: readings go only to collectors/) });
    expect(r.lines.filter((l) => l.event === 'publish.connect_failed' && l.level === 40)).toHaveLength(r.connects);
  });

  it('a collector gets the announcement', async () => {
    const r = await run('collector');
    expect(r.heard.length).toBeGreaterThan(0);
    expect(r.status.last_error).toBeUndefined();
  });
});
