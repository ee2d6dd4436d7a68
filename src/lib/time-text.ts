// Times as people read them in messages: ISO 8601 to the second (artefact times are whole Unix
// seconds) and a rough duration that never promises more time than is left.

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** ISO 8601 in UTC to the second, e.g. 2026-12-07T10:00:00Z. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const plural = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? '' : 's'}`;

/** "3 days", "5 hours", "12 minutes", rounded down (2 days 23 hours reads "2 days"). */
export function roughDuration(ms: number): string {
  if (ms >= DAY_MS) return plural(Math.floor(ms / DAY_MS), 'day');
  if (ms >= HOUR_MS) return plural(Math.floor(ms / HOUR_MS), 'hour');
  if (ms >= MINUTE_MS) return plural(Math.floor(ms / MINUTE_MS), 'minute');
  return 'less than a minute';
}
