// Text that came from elsewhere (a gateway, a device: a reading's text, an MQTT topic, a refusal
// code, a diagnostics report) on its way to a terminal. A terminal acts on more than it shows: ESC
// and the other C0 controls move the cursor, clear the screen or retitle the window; some terminals
// act on C1 controls (U+0080-U+009F) as on ESC; bidirectional overrides and isolates (U+202A-U+202E,
// U+2066-U+2069) display a line in another order than its bytes'; line and paragraph separators
// break it. One place for the forms such text takes:
// - human output: printable() shows each such character as `·`;
// - JSON lines: jsonLine() writes them as \uXXXX escapes (JSON.stringify escapes C0 itself but
//   leaves the rest raw): the same JSON to a parser, inert on a terminal;
// - what a terminal would show of it (a device's coloured line, to take its numbers from):
//   shownOnTerminal() drops whole control sequences, parameters and all.

/** Beyond C0 and DEL: what JSON.stringify leaves raw and a terminal may act on or reorder. */
const BEYOND_C0 = '\\u0080-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069';
const UNSAFE_IN_JSON = new RegExp(`[${BEYOND_C0}]`, 'g');
const UNSAFE = new RegExp(`[\\u0000-\\u001f\\u007f${BEYOND_C0}]`, 'g');

/** `s` for human output: every control, bidi or separator character shown as `·` (newlines too: one line stays one). */
export function printable(s: string): string {
  return s.replace(UNSAFE, '·');
}

/** One JSON line for stdout when its strings come from elsewhere. */
export function jsonLine(v: unknown): string {
  return inertJson(JSON.stringify(v)) + '\n';
}

/** The same, indented (a human form that is JSON, as `pantheon show` prints without --json). */
export function jsonIndented(v: unknown): string {
  return inertJson(JSON.stringify(v, null, 2)) + '\n';
}

function inertJson(json: string): string {
  return json.replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * ECMA-48 control sequences, whole: CSI (ESC [ or U+009B, parameter bytes, intermediate bytes, a
 * final byte), the control strings (OSC, DCS, SOS, PM, APC: ESC ] P X ^ _ or their C1 forms) up to
 * ST or BEL (or the end of the text, as a terminal would swallow it), and any other escape (ESC,
 * intermediates, one final byte: ESC 7, ESC ( B). Each part is one character class: linear time.
 */
const CONTROL_SEQUENCE = /(?:\u001b\[|\u009b)[\u0030-\u003f]*[\u0020-\u002f]*[\u0040-\u007e]?|(?:\u001b[\]PX^_]|[\u0090\u0098\u009d-\u009f])[^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c)?|\u001b[\u0020-\u002f]*[\u0030-\u007e]?/g;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** The text a terminal would show of `s`: control sequences dropped whole, any other control a space. */
export function shownOnTerminal(s: string): string {
  return s.replace(CONTROL_SEQUENCE, '').replace(CONTROL, ' ');
}
