// What a console serves of reading values (src/console/point-budget.ts) and what an operator's
// console keeps of a slot (src/console/live-history.ts): a value over POINT_VALUE_MAX_BYTES is its
// size in words and plots nothing; an answer carries at most SLOT_ANSWER_MAX_BYTES of values, the
// newest, and counts what it left out; at most HISTORY_MAX readings are kept.

import { describe, expect, it } from 'vitest';
import { HISTORY_MAX, LiveHistory } from '../../src/console/live-history.js';
import { newestWithin, POINT_VALUE_MAX_BYTES, SLOT_ANSWER_MAX_BYTES, tooLargeText } from '../../src/console/point-budget.js';
import { encodeCanonical } from '../../src/uzp/cbor.js';

const raw = (n: number): { bytes: Uint8Array } => ({ bytes: new Uint8Array(n).fill(0xab) });

describe('newestWithin', () => {
  it('keeps the newest whose sizes fit, and counts the older ones', () => {
    expect(newestWithin([5, 4, 3, 2], (n) => n, 5)).toEqual({ kept: [3, 2], omitted: 2 });
    expect(newestWithin([1, 1], (n) => n, 5)).toEqual({ kept: [1, 1], omitted: 0 });
    expect(newestWithin([9], (n) => n, 5)).toEqual({ kept: [], omitted: 1 });
    expect(newestWithin([], (n: number) => n, 5)).toEqual({ kept: [], omitted: 0 });
  });
});

describe('LiveHistory', () => {
  it('keeps a value over POINT_VALUE_MAX_BYTES as its CBOR size in words, plotting nothing', () => {
    const h = new LiveHistory();
    const big = raw(64 * 1024);
    const p = h.add({ ts: 1, epoch: 7, seq: 0, value: big });
    expect(p).toEqual({ ts: 1, epoch: 7, seq: 0, values: {}, value: tooLargeText(encodeCanonical(big).length) });
    // 1 (map) + 6 ("bytes") + 5 (byte string head) + 65,536: the size the gateway logged.
    expect(p.value).toBe('(65548 bytes: too large to show here)');
    const small = h.add({ ts: 2, seq: 1, value: { line: 'T=21.5' } });
    expect(small).toEqual({ ts: 2, seq: 1, values: { line: 21.5 }, value: { line: 'T=21.5' } });
    expect(h.answer(0, 10).points).toEqual([p, small]);
  });

  it('a value of exactly POINT_VALUE_MAX_BYTES is shown whole', () => {
    // {bytes: h'…'}: 1 (map) + 6 ("bytes") + 3 (byte string head) + the bytes.
    const edge = raw(POINT_VALUE_MAX_BYTES - 10);
    expect(encodeCanonical(edge).length).toBe(POINT_VALUE_MAX_BYTES);
    expect(new LiveHistory().add({ ts: 1, seq: 0, value: edge }).value).toEqual({ bytes_hex: 'ab'.repeat(POINT_VALUE_MAX_BYTES - 10) });
  });

  it('an answer carries at most SLOT_ANSWER_MAX_BYTES of values, the newest, and counts the rest', () => {
    const h = new LiveHistory();
    const value = raw(POINT_VALUE_MAX_BYTES - 10);
    const fit = Math.floor(SLOT_ANSWER_MAX_BYTES / POINT_VALUE_MAX_BYTES);
    for (let i = 0; i < fit + 50; i++) h.add({ ts: 1000 + i, seq: i, value });
    const a = h.answer(0, 20_000);
    expect(a.points).toHaveLength(fit);
    expect(a.points.at(-1)!.seq).toBe(fit + 49);
    expect(a.omittedPoints).toBe(50);
    // `since` and `limit` first: within the budget nothing is said to be left out.
    expect(h.answer(1000 + fit + 40, 20_000)).toMatchObject({ points: { length: 10 } });
    expect(h.answer(1000 + fit + 40, 20_000).omittedPoints).toBeUndefined();
    expect(h.answer(0, 3).points.map((p) => p.seq)).toEqual([fit + 47, fit + 48, fit + 49]);
  });

  it('keeps no more value bytes than an answer could serve: the oldest go, and answers still count them', () => {
    const value = raw(POINT_VALUE_MAX_BYTES - 10);
    const h = new LiveHistory(100, Math.floor(2.5 * POINT_VALUE_MAX_BYTES));
    for (let i = 0; i < 20; i++) h.add({ ts: 1000 + i, seq: i, value });
    // Two values fit 2.5 of them; the 18 older were let go (a count bound alone would keep all 20).
    expect(h.answer(0, 1000)).toEqual({ points: [expect.objectContaining({ seq: 18 }), expect.objectContaining({ seq: 19 })], omittedPoints: 18 });
    expect(h.answer(1010, 1000).omittedPoints).toBe(8);
    expect(h.answer(1019, 1000)).toEqual({ points: [expect.objectContaining({ seq: 19 })] });
    // A value over the bound on its own is still kept: the newest always is.
    const one = new LiveHistory(100, 100);
    one.add({ ts: 1, seq: 0, value });
    one.add({ ts: 2, seq: 1, value });
    expect(one.answer(0, 10)).toEqual({ points: [expect.objectContaining({ seq: 1 })], omittedPoints: 1 });
  });

  it('keeps the newest HISTORY_MAX readings', () => {
    const h = new LiveHistory();
    for (let i = 0; i < HISTORY_MAX + 10; i++) h.add({ ts: i, seq: i, value: i });
    const a = h.answer(0, 20_000);
    expect(a.points).toHaveLength(HISTORY_MAX);
    expect(a.points[0]!.seq).toBe(10);
  });
});
