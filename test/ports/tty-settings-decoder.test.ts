// parseSttyAll (`stty -F PATH -a`, GNU coreutils): properties over generated stty outputs of every
// framing, and junk. It never throws: the framing read back, or undefined when the text does not
// say it; what it returns is always a framing a port can have.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSttyAll, type TtySettings } from '../../src/ports/tty-settings.js';

type Parity = TtySettings['parity'];

/** A GNU `stty -a` output (coreutils 9, Linux) for the given framing; `order` permutes the cflags. */
function sttyAll(f: { baud: number; bits: 5 | 6 | 7 | 8; parity: Parity; stop: 1 | 2; oddWhenNone?: boolean; cmsparWhenNone?: boolean }, shuffle: (xs: string[]) => string[] = (x) => x): string {
  const parenb = f.parity !== 'none';
  const parodd = parenb ? f.parity === 'odd' || f.parity === 'mark' : f.oddWhenNone === true;
  const cmspar = parenb ? f.parity === 'mark' || f.parity === 'space' : f.cmsparWhenNone === true;
  const cflags = shuffle([`${parenb ? '' : '-'}parenb`, `${parodd ? '' : '-'}parodd`, `${cmspar ? '' : '-'}cmspar`, `cs${f.bits}`, 'hupcl', `${f.stop === 2 ? '' : '-'}cstopb`, 'cread', 'clocal', '-crtscts']);
  return [
    `speed ${f.baud} baud; rows 0; columns 0; line = 0;`,
    'intr = ^C; quit = ^\\; erase = ^?; kill = ^U; eof = ^D; eol = <undef>; eol2 = <undef>; swtch = <undef>; start = ^Q; stop = ^S;',
    'susp = ^Z; rprnt = ^R; werase = ^W; lnext = ^V; discard = ^O; min = 1; time = 0;',
    cflags.join(' '),
    '-ignbrk -brkint ignpar -parmrk -inpck -istrip -inlcr -igncr -icrnl -ixon -ixoff -iuclc -ixany -imaxbel -iutf8',
    '-opost -olcuc -ocrnl -onlcr -onocr -onlret -ofill -ofdel nl0 cr0 tab0 bs0 vt0 ff0',
    '-isig -icanon -iexten -echo -echoe -echok -echonl -noflsh -xcase -tostop -echoprt -echoctl -echoke -flusho -extproc',
    '',
  ].join('\n');
}

const framingArb = fc.record({
  baud: fc.oneof(fc.constantFrom(0, 50, 300, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 4000000), fc.integer({ min: 1, max: 4_000_000 })),
  bits: fc.constantFrom(5 as const, 6 as const, 7 as const, 8 as const),
  parity: fc.constantFrom<Parity>('none', 'even', 'odd', 'mark', 'space'),
  stop: fc.constantFrom(1 as const, 2 as const),
  oddWhenNone: fc.boolean(),
  cmsparWhenNone: fc.boolean(),
});

function expectWellFormed(s: TtySettings): void {
  expect([5, 6, 7, 8]).toContain(s.dataBits);
  expect(['none', 'even', 'odd', 'mark', 'space']).toContain(s.parity);
  expect([1, 2]).toContain(s.stopBits);
  // A rate a tty can run at: a positive whole number of baud (absent when unknown).
  if (s.baudRate !== undefined) expect(Number.isSafeInteger(s.baudRate) && s.baudRate > 0, `baudRate ${s.baudRate}`).toBe(true);
}

function parseNoThrow(text: string): TtySettings | undefined {
  try {
    return parseSttyAll(text);
  } catch (e) {
    throw new Error(`parseSttyAll threw for ${JSON.stringify(text.slice(0, 120))}: ${String(e)}`, { cause: e });
  }
}

describe('parseSttyAll properties', () => {
  it('reads back every framing from a generated stty -a output, whatever the flag order', () => {
    fc.assert(
      fc.property(framingArb, fc.func(fc.integer()), (f, key) => {
        const shuffle = (xs: string[]): string[] => xs.map((x, i) => [key(x, i), x] as const).sort((a, b) => a[0] - b[0]).map(([, x]) => x);
        expect(parseSttyAll(sttyAll(f, shuffle))).toEqual({ ...(f.baud > 0 ? { baudRate: f.baud } : {}), dataBits: f.bits, parity: f.parity, stopBits: f.stop });
      }),
      { numRuns: 2000 },
    );
  });

  it('without parenb the parity is none whatever parodd and cmspar say', () => {
    fc.assert(
      fc.property(framingArb, (f) => {
        expect(parseSttyAll(sttyAll({ ...f, parity: 'none' }))?.parity).toBe('none');
      }),
      { numRuns: 300 },
    );
  });

  it('an output missing the character size, parenb or cstopb gives undefined, never a guess', () => {
    fc.assert(
      fc.property(framingArb, fc.constantFrom(/\bcs[5-8]\b/, /(^|\s)-?parenb\b/m, /(^|\s)-?cstopb\b/m), (f, drop) => {
        const text = sttyAll(f).replace(drop, '$1');
        expect(parseSttyAll(text)).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  it('input and output speeds that differ (ispeed/ospeed) leave the rate unknown', () => {
    const t = sttyAll({ baud: 9600, bits: 8, parity: 'even', stop: 1 }).replace('speed 9600 baud;', 'ispeed 9600 baud; ospeed 19200 baud;');
    expect(parseSttyAll(t)).toEqual({ dataBits: 8, parity: 'even', stopBits: 1 });
  });
});

describe('parseSttyAll junk', () => {
  it('random text and mutated outputs: undefined or a well-formed framing, never a throw', () => {
    const base = sttyAll({ baud: 19200, bits: 8, parity: 'even', stop: 1 });
    const tokens = ['cs5', 'cs8', '-parenb', 'parenb', 'parodd', 'cmspar', 'cstopb', '-cstopb', 'speed', 'baud', ';', ' ', '\n', '0', '9', '-'];
    const mutated = fc.array(fc.record({ at: fc.nat(), put: fc.constantFrom(...tokens, ''), len: fc.nat({ max: 6 }) }), { minLength: 1, maxLength: 6 }).map((ops) => {
      let s = base;
      for (const op of ops) {
        const p = op.at % (s.length + 1);
        s = s.slice(0, p) + op.put + s.slice(p + op.len);
      }
      return s;
    });
    const text = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), fc.array(fc.constantFrom(...tokens), { maxLength: 20 }).map((a) => a.join(' ')), mutated);
    let framed = 0;
    fc.assert(
      fc.property(text, (t) => {
        const r = parseNoThrow(t);
        if (r !== undefined) {
          framed++;
          expectWellFormed(r);
        }
      }),
      { numRuns: 5000 },
    );
    expect(framed).toBeGreaterThan(0);
  });

  it('truncations of a real output: undefined or the framing it still shows', () => {
    const full = sttyAll({ baud: 115200, bits: 7, parity: 'odd', stop: 2 });
    for (let n = 0; n <= full.length; n++) {
      const r = parseNoThrow(full.slice(0, n));
      if (r !== undefined) {
        expectWellFormed(r);
        expect(r.dataBits).toBe(7);
        expect(r.stopBits).toBe(2);
      }
    }
    expect(parseNoThrow(full.slice(0, full.indexOf('cread')))).toEqual({ baudRate: 115200, dataBits: 7, parity: 'odd', stopBits: 2 });
  });

  it('huge inputs: megabytes of text', () => {
    const big = sttyAll({ baud: 9600, bits: 8, parity: 'none', stop: 1 }) + ' -opost'.repeat(200_000);
    expect(parseNoThrow(big)).toEqual({ baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1 });
    expect(parseNoThrow('x'.repeat(1 << 20))).toBeUndefined();
  });

  it('a speed too large to be a rate does not come back as one', () => {
    // A number no tty runs at must not come back as a rate (Infinity, or a rounded 1e20).
    for (const digits of ['9'.repeat(400), '100000000000000000000', '9007199254740993']) {
      const r = parseNoThrow(`speed ${digits} baud; cs8 -parenb -cstopb`);
      expect(r).toBeDefined();
      expectWellFormed(r!);
    }
  });
});
