// SessionRefusals (src/uzp/session-refusals.ts): the gateway's session.refused and
// session.early_refused lines, bounded per RN whatever it offers; every refusal counted for the
// status file. Time is a FakeClock.

import { describe, expect, it } from 'vitest';
import { REFUSAL_SUMMARY_MS, SessionRefusals } from '../../src/uzp/session-refusals.js';
import { toHex } from '../../src/uzp/bytes.js';
import { FakeClock } from '../helpers/fake-clock.js';

const cid = (b: number): Uint8Array => new Uint8Array(32).fill(b);

function setup() {
  const clock = new FakeClock();
  const said: { level: string; line: Record<string, unknown>; msg: string }[] = [];
  const rec = (level: string) => (line: object, msg: string) => said.push({ level, line: line as Record<string, unknown>, msg });
  const counts = { handshakes: 0, artefacts: 0, earlyData: 0 };
  const refusals = new SessionRefusals({ debug: rec('debug'), info: rec('info'), warn: rec('warn') }, clock, counts);
  const warned = () => said.filter((s) => s.level === 'warn');
  const told = () => said.filter((s) => s.level === 'info');
  return { clock, said, counts, refusals, warned, told };
}

const unexpected = { code: 'HANDSHAKE_UNEXPECTED', message: 'CH1 does not decode' };

describe('SessionRefusals', () => {
  it("an operator's JOINs refused in a loop through one RN: one line in full, then one summary a minute with the count", () => {
    const t = setup();
    for (let i = 0; i < 3_100; i++) t.refusals.refused(unexpected, cid(1), cid(9));
    expect(t.warned()).toEqual([{ level: 'warn', line: { event: 'session.refused', operator: toHex(cid(1)), rn: toHex(cid(9)), code: 'HANDSHAKE_UNEXPECTED', reason: 'CH1 does not decode' }, msg: 'session refused' }]);
    expect(t.said.filter((s) => s.level === 'debug')).toHaveLength(3_099);
    expect(t.counts.handshakes).toBe(3_100);
    t.clock.advance(REFUSAL_SUMMARY_MS);
    expect(t.warned()).toHaveLength(2);
    expect(t.warned()[1]!.line).toEqual({ event: 'session.refused_suppressed', rn: toHex(cid(9)), suppressed: 3_099, codes: { HANDSHAKE_UNEXPECTED: 3_099 }, operators: [toHex(cid(1))], interval_s: 60 });
    expect(t.warned()[1]!.msg).toContain('3099 more sessions refused through RN');
  });

  it('a hostile RN naming a fresh initiator in each junk OFFER: a bounded number of lines per minute; another code and another RN still said in full', () => {
    const t = setup();
    for (let i = 0; i < 60_000; i++) {
      const initiator = new Uint8Array(32);
      new DataView(initiator.buffer).setUint32(0, i);
      t.refusals.refused(unexpected, initiator, cid(9));
    }
    const inFull = t.warned().length;
    expect(inFull).toBeLessThanOrEqual(10);
    t.refusals.refused({ code: 'GRANT_EXPIRED', message: 'the Grant expired' }, cid(2), cid(9));
    t.refusals.refused(unexpected, cid(3), cid(8));
    expect(t.warned().slice(inFull).map((s) => [s.line.code, s.line.rn])).toEqual([
      ['GRANT_EXPIRED', toHex(cid(9))],
      ['HANDSHAKE_UNEXPECTED', toHex(cid(8))],
    ]);
    t.clock.advance(REFUSAL_SUMMARY_MS);
    const summaries = t.warned().filter((s) => s.line.event === 'session.refused_suppressed');
    expect(summaries).toHaveLength(1);
    expect(summaries[0]!.line).toMatchObject({ rn: toHex(cid(9)), suppressed: 60_000 - inFull });
    expect(t.counts.handshakes).toBe(60_002);
  });

  it('stop() says the counted refusals at once; an offer on a link that names no RN is counted under "unknown"', () => {
    const t = setup();
    t.refusals.refused(unexpected, cid(1), undefined);
    t.refusals.refused(unexpected, cid(1), undefined);
    t.refusals.stop();
    expect(t.warned().map((s) => [s.line.event, s.line.rn, s.line.suppressed])).toEqual([
      ['session.refused', 'unknown', undefined],
      ['session.refused_suppressed', 'unknown', 1],
    ]);
    expect(t.clock.pending).toBe(0);
  });

  it("early data not taken, N times (an operator replaying its ticket in every JOIN): one session.early_refused line in full, then one summary a minute; every one counted", () => {
    const t = setup();
    const replay = 'the ticket was used before (replay)';
    for (let i = 0; i < 500; i++) t.refusals.earlyRefused(replay, cid(1), cid(9));
    expect(t.told()).toEqual([{ level: 'info', line: { event: 'session.early_refused', operator: toHex(cid(1)), rn: toHex(cid(9)), reason: replay }, msg: 'early data not taken; the session goes on at 1-RTT' }]);
    expect(t.said.filter((s) => s.level === 'debug')).toHaveLength(499);
    expect(t.counts).toMatchObject({ earlyData: 500, handshakes: 0 });
    // Another reason is said in full; the detail after its colon does not make each one new.
    t.refusals.earlyRefused("the Grant's nonce: 7 is below 9", cid(1), cid(9));
    t.refusals.earlyRefused("the Grant's nonce: 8 is below 9", cid(1), cid(9));
    expect(t.told().map((s) => s.line.reason)).toEqual([replay, "the Grant's nonce: 7 is below 9"]);
    t.clock.advance(REFUSAL_SUMMARY_MS);
    expect(t.told()).toHaveLength(3);
    expect(t.told()[2]!.line).toEqual({ event: 'session.early_refused_suppressed', rn: toHex(cid(9)), suppressed: 500, reasons: { [replay]: 499, "the Grant's nonce": 1 }, operators: [toHex(cid(1))], interval_s: 60 });
    expect(t.told()[2]!.msg).toContain('early data of 500 more sessions through RN');
    expect(t.warned()).toEqual([]); // not session refusals: the sessions went on
  });

  it('a refusal after stop() is counted, written at debug only, and arms no summary timer', () => {
    const t = setup();
    t.refusals.stop();
    for (let i = 0; i < 3; i++) t.refusals.refused(unexpected, cid(1), cid(9));
    expect(t.counts.handshakes).toBe(3);
    expect(t.warned()).toEqual([]);
    expect(t.said.map((s) => [s.level, s.line.event])).toEqual(Array.from({ length: 3 }, () => ['debug', 'session.refused']));
    expect(t.clock.pending).toBe(0); // before: 1, and a summary a minute later
    t.clock.advance(REFUSAL_SUMMARY_MS);
    expect(t.warned()).toEqual([]);
  });
});
