import { describe, expect, it } from 'vitest';
import { cutWire, quoteWire, WIRE_TEXT_MAX } from '../../src/lib/wire-text.js';

describe('wire text in messages', () => {
  it('is kept whole up to the bound, and cut past it with its length', () => {
    const at = 'a'.repeat(WIRE_TEXT_MAX);
    expect(cutWire(at)).toBe(at);
    expect(quoteWire(at)).toBe(JSON.stringify(at));
    expect(cutWire(`${at}b`)).toBe(`${at}…(${WIRE_TEXT_MAX + 1} chars)`);
    expect(quoteWire(`${at}b`)).toBe(`${JSON.stringify(at)}…(${WIRE_TEXT_MAX + 1} chars)`);
    expect(cutWire('abcdef', 3)).toBe('abc…(6 chars)');
  });
});
