// Text that came from the wire (a peer's map key, a topic filter, an error message of a decoder
// that quotes its input) on its way into an error reason, a log line or an audit line. A decoder
// bounds what it keeps, but a message it refuses can carry anything up to the session's message
// bound: one HIL frame with a 900 KiB unknown key became a 921,921-byte audit line (found by
// review). Such text is cut to a few dozen characters, and the cut says how long it was.

/** Characters of wire text a reason or a log line quotes. */
export const WIRE_TEXT_MAX = 64;

/** `s` cut to `max` characters; a cut text ends in `…(N chars)`, N its whole length. */
export function cutWire(s: string, max = WIRE_TEXT_MAX): string {
  return s.length <= max ? s : `${s.slice(0, max)}…(${s.length} chars)`;
}

/** `s` as a JSON string for a message, cut as cutWire cuts it (the note outside the quotes). */
export function quoteWire(s: string, max = WIRE_TEXT_MAX): string {
  return s.length <= max ? JSON.stringify(s) : `${JSON.stringify(s.slice(0, max))}…(${s.length} chars)`;
}
