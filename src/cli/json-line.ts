// One JSON line for stdout when its strings come from equipment (a reading's text, an MQTT topic or
// payload): JSON.stringify leaves C1 controls (U+0080-U+009F: some terminals act on them, as on
// ESC), bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069: a line displayed in an
// order other than its bytes') and the line and paragraph separators as they are. They are written
// as \uXXXX escapes here: the same JSON to a parser, inert on a terminal.

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0080-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function jsonLine(v: unknown): string {
  return JSON.stringify(v).replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n';
}
