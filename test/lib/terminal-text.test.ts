// Text from a gateway or device on its way to a terminal (src/lib/terminal-text.ts): jsonLine's
// JSON parses back to exactly what it was, and carries no C1 control, bidirectional override or line
// separator raw; printable() shows every such character, and every C0 control (ESC), as `·`;
// shownOnTerminal() drops whole control sequences (their parameters are not the text's).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonLine, printable, shownOnTerminal } from '../../src/lib/terminal-text.js';

const UNSAFE = /[\u0080-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('jsonLine', () => {
  it('escapes C1 controls, bidi overrides and separators; JSON.stringify alone leaves them raw', () => {
    const v = { topic: 'plant/\u202eevil', payload: 'a\u009bb\u2028c\u2066d' };
    expect(JSON.stringify(v)).toMatch(UNSAFE);
    const line = jsonLine(v);
    expect(line).not.toMatch(UNSAFE);
    expect(line).toBe('{"topic":"plant/\\u202eevil","payload":"a\\u009bb\\u2028c\\u2066d"}\n');
    expect(JSON.parse(line)).toEqual(v);
  });

  it('any value: one line, parses back to the same value, nothing unsafe raw (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'binary' }), (v) => {
        const line = jsonLine(v);
        expect(line.endsWith('\n') && !line.slice(0, -1).includes('\n')).toBe(true);
        expect(line).not.toMatch(UNSAFE);
        expect(JSON.parse(line)).toEqual(JSON.parse(JSON.stringify(v)));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('printable', () => {
  it('shows C0 and C1 controls, DEL, bidi overrides and separators as ·, and leaves the rest', () => {
    expect(printable('\u001b[2J\u001b]0;owned\u0007boiler')).toBe('·[2J·]0;owned·boiler');
    expect(printable('a\nb\tc\u007fd\u009be\u202ef\u2028g')).toBe('a·b·c·d·e·f·g');
    expect(printable('Kessel 1 – 21,5 °C ✓')).toBe('Kessel 1 – 21,5 °C ✓');
  });

  it('any text: nothing a terminal acts on is left, and the length in code units is kept (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const out = printable(s);
        expect(out).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
        expect(out.length).toBe(s.length);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('shownOnTerminal', () => {
  it.each([
    ['SGR colour', 'T=\u001b[1;31m21.5\u001b[0m C', 'T=21.5 C'],
    ['C1 CSI', '\u009b2JT', 'T'],
    ['OSC to BEL', 'a\u001b]0;title 7\u0007b', 'ab'],
    ['OSC to ST', 'a\u001b]8;;http://x/1\u001b\\b', 'ab'],
    ['C1 OSC to C1 ST', 'a\u009d0;9\u009cb', 'ab'],
    ['charset and cursor escapes', '\u001b(B\u001b7x\u001b8', 'x'],
    ['other controls become a space', 'a\tb\rc\u0000d\u0085e', 'a b c d e'],
    ['plain text stays', 'Kessel 1 – 21,5 °C', 'Kessel 1 – 21,5 °C'],
  ])('%s', (_what, text, want) => {
    expect(shownOnTerminal(text)).toBe(want);
  });

  it('any text: no control left, and text without controls unchanged (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const out = shownOnTerminal(s);
        expect(out).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
        if (!/[\u0000-\u001f\u007f-\u009f]/.test(s)) expect(out).toBe(s);
      }),
      { numRuns: 2000 },
    );
  });
});
