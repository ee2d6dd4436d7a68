// Freshness (src/gateway/publisher/freshness.ts, files/announced-digests.ts; OI §11.4): the first
// announcement to a collector signals nothing; after a restart with another config or catalogue the
// next accepted one signals each change once; the file survives restarts, is per collector, and a
// damaged file is a warning (no signal), never a failure.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { announcedDigestsFileOf, readAnnouncedDigests } from '../../../src/files/announced-digests.js';
import { Freshness } from '../../../src/gateway/publisher/freshness.js';

const root = mkdtempSync(join(tmpdir(), 'uzp-freshness-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
/** A state directory of its own (the identity key's directory) and a logger that keeps its lines. */
function stateDir(): { key: string; lines: Record<string, unknown>[] } {
  const dir = join(root, `s${++n}`);
  mkdirSync(dir);
  return { key: join(dir, 'gateway.key'), lines: [] };
}

function logger(lines: Record<string, unknown>[]) {
  return pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
}

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const d = (byte: number): Uint8Array => new Uint8Array(32).fill(byte);

describe('freshness', () => {
  it('signals nothing to a collector it never announced to, then each digest that changed after a restart', () => {
    const s = stateDir();
    const now = 1_700_000_000_000;
    const first = new Freshness(s.key, logger(s.lines), () => now);
    expect(first.changes(A, { catalogue: d(1), config: d(2) })).toEqual([]);
    first.announced(A, { catalogue: d(1), config: d(2) });
    // Same process, same digests: nothing.
    expect(first.changes(A, { catalogue: d(1), config: d(2) })).toEqual([]);
    // A restart with another config: only config changed.
    const second = new Freshness(s.key, logger(s.lines), () => now + 5);
    expect(second.changes(A, { catalogue: d(1), config: d(3) })).toEqual([{ t: 'fresh', what: 'config', digest: d(3), at_ms: now + 5 }]);
    // Another collector never heard of this gateway: nothing for it.
    expect(second.changes(B, { catalogue: d(9), config: d(3) })).toEqual([]);
    second.announced(A, { catalogue: d(1), config: d(3) });
    // Both changed since: catalogue first, then config.
    const third = new Freshness(s.key, logger(s.lines), () => now + 9);
    expect(third.changes(A, { catalogue: d(4), config: d(5) }).map((f) => f.what)).toEqual(['catalogue', 'config']);
    expect(readAnnouncedDigests(announcedDigestsFileOf(s.key))).toEqual([{ collector: A, catalogue: '01'.repeat(32), config: '03'.repeat(32), at: new Date(now + 5).toISOString() }]);
    expect(s.lines.filter((l) => (l.level as number) >= 40)).toEqual([]);
  });

  it('keeps one entry per collector, and the file is private', () => {
    const s = stateDir();
    const f = new Freshness(s.key, logger(s.lines));
    f.announced(A, { catalogue: d(1) });
    f.announced(B, { catalogue: d(2) });
    f.announced(A, { catalogue: d(3) });
    const file = announcedDigestsFileOf(s.key);
    expect(readAnnouncedDigests(file).map((e) => [e.collector, e.catalogue])).toEqual([
      [B, '02'.repeat(32)],
      [A, '03'.repeat(32)],
    ]);
    expect(JSON.parse(readFileSync(file, 'utf8')).kind).toBe('uzp-gw/announced-digests');
  });

  it.each([
    ['not JSON', '{'],
    ['another kind', JSON.stringify({ kind: 'uzp-gw/other', collectors: [] })],
    ['a digest of the wrong length', JSON.stringify({ kind: 'uzp-gw/announced-digests', collectors: [{ collector: A, catalogue: 'ab', at: 'x' }] })],
    ['an unknown field', JSON.stringify({ kind: 'uzp-gw/announced-digests', collectors: [{ collector: A, catalogue: A, at: 'x', extra: 1 }] })],
  ])('a damaged file (%s) is one warning and no signal, never a failure; the next acceptance rewrites it', (_what, text) => {
    const s = stateDir();
    writeFileSync(announcedDigestsFileOf(s.key), text);
    const f = new Freshness(s.key, logger(s.lines));
    expect(s.lines.filter((l) => l.event === 'publish.announced_unreadable')).toHaveLength(1);
    expect(f.changes(A, { catalogue: d(1) })).toEqual([]);
    f.announced(A, { catalogue: d(1) });
    expect(readAnnouncedDigests(announcedDigestsFileOf(s.key))).toHaveLength(1);
  });
});
