// A gateway whose clock is wrong (a Pi without RTC before NTP answers) waits instead of exiting:
// it says once what is wrong, retries with backoff on its clock, and starts when its artefacts
// validate. Real artefacts from a test domain, a TrustStore on a faked wall clock, a fake timer clock.

import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { whenClockIsRight } from '../../src/gateway/clock-wait.js';
import { TrustStore } from '../../src/uzp/artefacts/trust.js';
import { ErrorCode, ValidationError } from '../../src/uzp/errors.js';
import { TestDomain } from '../helpers/domain.js';
import { FakeClock, turns } from '../helpers/fake-clock.js';

const DAY_MS = 86_400_000;

function logs(): { log: ReturnType<typeof pino>; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: pino({ base: null }, sink), lines };
}

/** A domain whose RN Set was issued "now" (valid for one day), and a gateway wall clock `offsetMs` off. */
function setup(offsetMs: number) {
  const d = new TestDomain(undefined, Date.UTC(2026, 11, 4, 12, 0, 0));
  const rnSet = d.rnSet([{ id: d.member('rn').id, addresses: ['127.0.0.1:1'] }]);
  const timers = new FakeClock(0);
  const wall = { offsetMs };
  const now = (): number => d.now * 1000 + wall.offsetMs + timers.now();
  let builds = 0;
  const build = async (): Promise<TrustStore> => {
    builds++;
    const t = new TrustStore({ provider: d.provider, rootPublicKey: d.root.publicKey, clock: now });
    t.setRnSet(rnSet); // throws ARTEFACT_NOT_YET_VALID / ARTEFACT_EXPIRED while the clock is off
    return t;
  };
  return { timers, wall, build, builds: () => builds };
}

async function advance(timers: FakeClock, ms: number): Promise<void> {
  timers.advance(ms);
  await turns();
}

describe('whenClockIsRight', () => {
  for (const [what, offsetMs, code] of [
    ['behind (two days before the RN Set is valid)', -2 * DAY_MS, ErrorCode.ARTEFACT_NOT_YET_VALID],
    ['ahead (two days after the RN Set expired)', 2 * DAY_MS, ErrorCode.ARTEFACT_EXPIRED],
  ] as const) {
    it(`clock ${what}: says so once, waits, and starts once the clock is right`, async () => {
      const s = setup(offsetMs);
      const { log, lines } = logs();
      let done = false;
      const started = whenClockIsRight(s.build, { clock: s.timers, log, random: () => 0.5 }).then((t) => {
        done = true;
        return t;
      });
      await turns();
      // Retries on its own clock, with backoff (0.5 s, 1 s, 2 s, 4 s, … at random = 0.5).
      for (let i = 0; i < 6; i++) await advance(s.timers, 60_000);
      expect(done).toBe(false);
      expect(s.builds()).toBeGreaterThanOrEqual(6);
      const wrong = lines.filter((l) => l.event === 'clock.wrong');
      expect(wrong).toHaveLength(1);
      expect(wrong[0]!.code).toBe(code);
      expect(String(wrong[0]!.msg)).toMatch(/check NTP/);
      // NTP sets the time: the next retry validates.
      s.wall.offsetMs = 0;
      await advance(s.timers, 60_000);
      const trust = await started;
      expect(trust).toBeInstanceOf(TrustStore);
      expect(lines.filter((l) => l.event === 'clock.ok')).toHaveLength(1);
    });
  }

  it('a clock that is right starts at once, with nothing logged', async () => {
    const s = setup(0);
    const { log, lines } = logs();
    await expect(whenClockIsRight(s.build, { clock: s.timers, log })).resolves.toBeInstanceOf(TrustStore);
    expect(s.builds()).toBe(1);
    expect(lines).toEqual([]);
  });

  it('any other error is not waited out', async () => {
    const { log } = logs();
    const build = (): Promise<never> => Promise.reject(new ValidationError(ErrorCode.SIG_INVALID, 'bad signature'));
    await expect(whenClockIsRight(build, { clock: new FakeClock(0), log })).rejects.toMatchObject({ code: ErrorCode.SIG_INVALID });
  });

  it('stops waiting when its signal aborts (SIGTERM while the clock is wrong)', async () => {
    const s = setup(-DAY_MS * 2);
    const { log } = logs();
    const stop = new AbortController();
    const waiting = whenClockIsRight(s.build, { clock: s.timers, log, signal: stop.signal });
    await turns();
    stop.abort(new Error('stopped'));
    await expect(waiting).rejects.toThrow('stopped');
    expect(s.timers.pending).toBe(0);
  });
});
