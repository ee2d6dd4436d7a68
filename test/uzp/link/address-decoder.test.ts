// parseAddress ("host:port" of RN Set Statements and the command line): vectors, a round trip with
// formatAddress, and junk. Only CONFIG_INVALID may escape; a result is always a usable host:port.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatAddress, parseAddress, type HostPort } from '../../../src/uzp/link/address.js';
import { CodedError, CommonCode } from '../../../src/lib/errors.js';
import { codeOf } from '../../helpers/errors.js';

/** parseAddress(s), or the code of the CodedError it threw; anything else escapes and fails the test. */
function decode(s: string): HostPort | string {
  try {
    return parseAddress(s);
  } catch (e) {
    if (!(e instanceof CodedError)) throw new Error(`untyped error for ${JSON.stringify(s.slice(0, 80))}: ${String(e)}`, { cause: e });
    return e.code;
  }
}

/** What every accepted address satisfies. */
function expectWellFormed(a: HostPort, input: string): void {
  expect(Number.isInteger(a.port)).toBe(true);
  expect(a.port).toBeGreaterThanOrEqual(0);
  expect(a.port).toBeLessThanOrEqual(65535);
  expect(a.host.length).toBeGreaterThan(0);
  expect(a.host).not.toMatch(/[\s[\]]/);
  expect(Number(input.slice(input.lastIndexOf(':') + 1))).toBe(a.port);
  // Formatting it again gives an address that decodes to the same value.
  expect(parseAddress(formatAddress(a))).toEqual(a);
}

describe('parseAddress vectors', () => {
  it('decodes names, IPv4 and bracketed IPv6 literals', () => {
    const cases: [string, HostPort][] = [
      ['127.0.0.1:7000', { host: '127.0.0.1', port: 7000 }],
      ['rn.example.net:443', { host: 'rn.example.net', port: 443 }],
      ['localhost:65535', { host: 'localhost', port: 65535 }],
      ['rn-1:1', { host: 'rn-1', port: 1 }],
      ['[::1]:7000', { host: '::1', port: 7000 }],
      ['[2001:db8::17]:8443', { host: '2001:db8::17', port: 8443 }],
      ['[::ffff:192.0.2.1]:80', { host: '::ffff:192.0.2.1', port: 80 }],
      ['[FE80::1]:9', { host: 'FE80::1', port: 9 }],
      ['host:00080', { host: 'host', port: 80 }], // at most 5 digits, leading zeros allowed
    ];
    for (const [s, want] of cases) expect(parseAddress(s), s).toEqual(want);
  });

  it('formats IPv6 hosts in brackets and others bare', () => {
    expect(formatAddress({ host: '::1', port: 7000 })).toBe('[::1]:7000');
    expect(formatAddress({ host: '10.0.0.1', port: 7000 })).toBe('10.0.0.1:7000');
  });

  it('refuses what is not host:port with CONFIG_INVALID, naming the field and the input', () => {
    const bad = [
      '',
      '7000',
      ':7000',
      'host',
      'host:',
      'host:port',
      'host:65536',
      'host:99999',
      'host:123456',
      'host:-1',
      'host:+80',
      'host:80 ',
      ' host:80',
      'ho st:80',
      'host:8\n0',
      '::1:7000', // IPv6 must be bracketed
      '[::1]',
      '[::1]:',
      '[]:80',
      '[rn.example.net]:80', // only IPv6 (hex, ':' and '.') inside brackets
      '[::1:80',
      '::1]:80',
      'a[b:80',
      'host:80:81',
      'host:0x50',
      'host:８０', // full-width digits
    ];
    for (const s of bad) expect(codeOf(() => parseAddress(s)), JSON.stringify(s)).toBe(CommonCode.CONFIG_INVALID);
    expect(() => parseAddress('nope', 'rn_set.addr')).toThrow(/^rn_set\.addr: expected host:port .*got "nope"$/);
    try {
      parseAddress('x');
    } catch (e) {
      expect((e as CodedError).fault).toBe('local');
    }
  });
});

const hostArb = fc.oneof(fc.domain(), fc.ipV4(), fc.ipV6(), fc.stringMatching(/^[a-z0-9_-]{1,20}$/));

describe('parseAddress properties', () => {
  it('round-trips every host (name, IPv4, IPv6) and port 0..65535 through formatAddress', () => {
    fc.assert(
      fc.property(hostArb, fc.integer({ min: 0, max: 65535 }), (host, port) => {
        const text = formatAddress({ host, port });
        expect(parseAddress(text)).toEqual({ host, port });
        expect(text.endsWith(`:${port}`)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses every port above 65535 and every port of more than 5 digits', () => {
    fc.assert(
      fc.property(hostArb, fc.oneof(fc.integer({ min: 65536, max: 99999 }), fc.bigInt({ min: 100000n, max: 10n ** 40n })), (host, port) => {
        const text = `${host.includes(':') ? `[${host}]` : host}:${port}`;
        expect(codeOf(() => parseAddress(text))).toBe(CommonCode.CONFIG_INVALID);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('parseAddress junk', () => {
  it('random text: CONFIG_INVALID or a well-formed address', () => {
    let accepted = 0;
    const text = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.stringMatching(/^\[?[0-9a-fA-F:.\]\[ a-z]{0,20}:[0-9]{0,7}$/),
    );
    fc.assert(
      fc.property(text, (s) => {
        const r = decode(s);
        if (typeof r === 'string') expect(r).toBe(CommonCode.CONFIG_INVALID);
        else {
          accepted++;
          expectWellFormed(r, s);
        }
      }),
      { numRuns: 5000 },
    );
    expect(accepted).toBeGreaterThan(0);
  });

  it('truncations of valid addresses: CONFIG_INVALID or a well-formed address', () => {
    for (const full of ['[2001:db8::17]:8443', 'rn.example.net:443', '127.0.0.1:7000']) {
      for (let n = 0; n <= full.length; n++) {
        const r = decode(full.slice(0, n));
        if (typeof r === 'string') expect(r).toBe(CommonCode.CONFIG_INVALID);
        else expectWellFormed(r, full.slice(0, n));
      }
    }
    expect(decode('127.0.0.1:7')).toEqual({ host: '127.0.0.1', port: 7 });
    expect(decode('[2001:db8::17]:8')).toEqual({ host: '2001:db8::17', port: 8 });
  });

  it('huge inputs are refused (no regex blow-up: the test timeout bounds it)', () => {
    const huge = ['a'.repeat(1 << 20), `${'a'.repeat(1 << 20)}:80x`, `[${':'.repeat(1 << 20)}`, `${'1'.repeat(1 << 20)}:${'9'.repeat(1 << 10)}`, `host:${'0'.repeat(1 << 20)}1`];
    for (const s of huge) expect(codeOf(() => parseAddress(s))).toBe(CommonCode.CONFIG_INVALID);
    // A long host is not refused for its length: the host is whatever the Statement names.
    expect(parseAddress(`${'a'.repeat(1 << 16)}:1`).host.length).toBe(1 << 16);
  });
});
