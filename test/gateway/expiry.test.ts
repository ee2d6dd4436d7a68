// The expiry assessment shared by the gateway's warnings and `uzpgw status`, at fixed times (no
// clock is read), and the once-a-day gate on the gateway's warning lines.

import { describe, expect, it } from 'vitest';
import { assessExpiry, EXPIRY_WARNING_MS, ExpiryNotices } from '../../src/gateway/expiry.js';
import { isoSeconds, roughDuration } from '../../src/lib/time-text.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const EXP = Date.UTC(2026, 11, 7, 12, 0, 0); // 2026-12-07T12:00:00Z

describe('assessExpiry', () => {
  it('ok while more than 7 days are left, with no warning', () => {
    expect(EXPIRY_WARNING_MS).toBe(7 * DAY);
    expect(assessExpiry(EXP, EXP - 7 * DAY - 1)).toEqual({ state: 'ok', remainingMs: 7 * DAY + 1 });
    expect(assessExpiry(EXP, EXP - 365 * DAY).state).toBe('ok');
  });

  it('expiring from exactly 7 days before, saying when and where renewal is explained', () => {
    expect(assessExpiry(EXP, EXP - 7 * DAY)).toEqual({
      state: 'expiring',
      remainingMs: 7 * DAY,
      warning: 'expires in 7 days (2026-12-07T12:00:00Z); renew it: docs/FLASH.md#renewal',
    });
    expect(assessExpiry(EXP, EXP - 3 * DAY - 5 * HOUR).warning).toBe('expires in 3 days (2026-12-07T12:00:00Z); renew it: docs/FLASH.md#renewal');
    expect(assessExpiry(EXP, EXP - 5 * HOUR - 59 * MIN).warning).toMatch(/^expires in 5 hours /);
    expect(assessExpiry(EXP, EXP).state).toBe('expiring'); // still valid at exp itself, as the validators read it
  });

  it('expired once past exp', () => {
    expect(assessExpiry(EXP, EXP + 1)).toEqual({ state: 'expired', remainingMs: -1, warning: 'expired less than a minute ago (2026-12-07T12:00:00Z); renew it: docs/FLASH.md#renewal' });
    expect(assessExpiry(EXP, EXP + 2 * DAY).warning).toMatch(/^expired 2 days ago \(2026-12-07T12:00:00Z\)/);
  });

  it('takes another warning window', () => {
    expect(assessExpiry(EXP, EXP - 2 * DAY, DAY).state).toBe('ok');
    expect(assessExpiry(EXP, EXP - DAY, DAY).state).toBe('expiring');
  });
});

describe('roughDuration and isoSeconds', () => {
  it('round down to the largest whole unit, singular for one', () => {
    expect([DAY, 2 * DAY - 1, 2 * DAY, HOUR, 23 * HOUR + 59 * MIN, MIN, 59 * MIN, MIN - 1, 0].map(roughDuration)).toEqual([
      '1 day',
      '1 day',
      '2 days',
      '1 hour',
      '23 hours',
      '1 minute',
      '59 minutes',
      'less than a minute',
      'less than a minute',
    ]);
  });

  it('prints whole seconds', () => {
    expect(isoSeconds(EXP)).toBe('2026-12-07T12:00:00Z');
    expect(isoSeconds(EXP + 1500)).toBe('2026-12-07T12:00:01Z');
  });
});

describe('ExpiryNotices', () => {
  it('lets one warning per artefact through per day; expired is news at once; ok resets', () => {
    const n = new ExpiryNotices();
    const t = EXP - 3 * DAY;
    expect(n.due('pcert:a', 'expiring', t)).toBe(true);
    expect(n.due('pcert:a', 'expiring', t + 30_000)).toBe(false);
    expect(n.due('rn-set:b', 'expiring', t + 30_000)).toBe(true); // another artefact
    expect(n.due('pcert:a', 'expiring', t + DAY - 1)).toBe(false);
    expect(n.due('pcert:a', 'expiring', t + DAY)).toBe(true);
    expect(n.due('pcert:a', 'expired', t + DAY + 1)).toBe(true);
    expect(n.due('pcert:a', 'expired', t + DAY + 2)).toBe(false);
    expect(n.due('pcert:a', 'ok', t + DAY + 3)).toBe(false);
    expect(n.due('pcert:a', 'expiring', t + DAY + 4)).toBe(true); // renewed, then close again
  });
});
