// The numbers a slot's chart plots, taken from a reading's value as JSON (what `markedJson` makes of
// the gateway's canonical CBOR: a byte string is never a string here, so a binary MQTT payload's hex
// is not read as a number). Drivers log different shapes (src/hil-devices/): a Modbus register
// is {unit, name, value, eng_unit?}; a serial-line device a {line: "T=21.5 C"}; an MQTT message a
// {topic, payload} whose payload is often JSON or a bare number. One rule per shape, named so the
// legend says what a line is; anything else plots its own top-level numbers. Bounded: at most
// MAX_SERIES names per reading, names at most 64 characters, finite numbers only.

import { shownOnTerminal } from '../lib/terminal-text.js';

export const MAX_SERIES = 8;
const MAX_NAME = 64;
/** A decimal number inside a text line: "21.5", "-3", "1e3", "n=42" gives 42. */
const NUMBER_IN_TEXT = /[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function name(s: string): string {
  return s.length <= MAX_NAME ? s : s.slice(0, MAX_NAME - 1) + '…';
}

/**
 * The first number a text shows, when it has one: a device's line may be coloured, and the numbers
 * inside its escape sequences (ESC [ 31 m) are not its reading.
 */
function numberIn(text: string): number | undefined {
  const m = NUMBER_IN_TEXT.exec(shownOnTerminal(text.slice(0, 1024)).slice(0, 256));
  if (m === null) return undefined;
  const n = Number(m[0]);
  return Number.isFinite(n) ? n : undefined;
}

function topLevel(o: Record<string, unknown>, prefix: string, out: Record<string, number>): void {
  for (const [k, v] of Object.entries(o)) {
    if (Object.keys(out).length >= MAX_SERIES) return;
    if (typeof v === 'number' && Number.isFinite(v)) out[name(prefix + k)] = v;
  }
}

/** The named numbers in one reading's value (possibly none). */
export function seriesOf(value: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (typeof value === 'number') {
    if (Number.isFinite(value)) out.value = value;
    return out;
  }
  if (!isRecord(value)) return out;
  // Modbus poller: one register per reading, named by unit and register name.
  if (typeof value.name === 'string' && typeof value.value === 'number' && Number.isFinite(value.value)) {
    out[name(typeof value.unit === 'number' ? `${value.unit}.${value.name}` : value.name)] = value.value;
    return out;
  }
  // Serial line: the first number of the text.
  if (typeof value.line === 'string') {
    const n = numberIn(value.line);
    if (n !== undefined) out.line = n;
    return out;
  }
  // MQTT: a numeric payload, or a JSON object's numbers.
  if (typeof value.topic === 'string' && 'payload' in value) {
    const p = value.payload;
    const t = value.topic;
    if (typeof p === 'number' && Number.isFinite(p)) out[name(t)] = p;
    else if (typeof p === 'string') {
      const text = p.trim();
      let parsed: unknown;
      try {
        parsed = text.length <= 4096 && (text.startsWith('{') || /^[-+.\d]/.test(text)) ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      if (typeof parsed === 'number' && Number.isFinite(parsed)) out[name(t)] = parsed;
      else if (isRecord(parsed)) topLevel(parsed, `${t} `, out);
    } else if (isRecord(p)) topLevel(p, `${t} `, out);
    return out;
  }
  topLevel(value, '', out);
  return out;
}
