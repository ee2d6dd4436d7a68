// Pantheon's issuing state (DIR/state.json), decoded through loadState (parseState is private):
// a round trip with saveState over generated states, the refusals, and junk. Only FILE_INVALID
// (FILE_NOT_FOUND for a missing file) may escape; a decoded state is always well formed.

import fc from 'fast-check';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { emptyState, loadState, saveState, statePath } from '../../src/pantheon/state.js';
import { FileErrorCode } from '../../src/files/errors.js';
import { CodedError } from '../../src/lib/errors.js';
import { ROLES } from '../../src/uzp/artefacts/pcert.js';
import { codeOf } from '../helpers/errors.js';

type State = ReturnType<typeof emptyState>;

const root = mkdtempSync(join(tmpdir(), 'uzp-pantheon-state-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const dir = join(root, 'd');
mkdirSync(dir);
const KIND = 'uzp-gw/pantheon-state';

function load(text: string): State | string {
  writeFileSync(statePath(dir), text);
  try {
    return loadState(dir);
  } catch (e) {
    if (!(e instanceof CodedError)) throw new Error(`untyped error for ${JSON.stringify(text.slice(0, 120))}: ${String(e)}`, { cause: e });
    return e.code;
  }
}

function expectWellFormed(s: State): void {
  const uint = (n: number): void => expect(Number.isSafeInteger(n) && n >= 0, String(n)).toBe(true);
  for (const [k, v] of Object.entries(s.grantNonces)) {
    expect(k).toMatch(/^[0-9a-f]{64}:[0-9a-f]{64}$/);
    uint(v);
  }
  for (const [k, v] of Object.entries(s.members)) {
    expect(k).toMatch(/^[0-9a-f]{64}$/);
    expect(ROLES).toContain(v);
  }
  for (const n of [s.rnSet.epoch, s.rnSet.sequence, s.revocation.epoch, s.revocation.sequence]) uint(n);
  for (const id of [...s.revocation.cids, ...s.revocation.ids]) expect(id).toMatch(/^[0-9a-f]{64}$/);
}

const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const counter = fc.oneof(fc.nat({ max: 1000 }), fc.constant(Number.MAX_SAFE_INTEGER), fc.maxSafeNat());
const stateArb: fc.Arbitrary<State> = fc.record({
  grantNonces: fc.dictionary(fc.tuple(hex64, hex64).map(([s, a]) => `${s}:${a}`), counter, { maxKeys: 8 }),
  rnSet: fc.record({ epoch: counter, sequence: counter }),
  revocation: fc.record({ epoch: counter, sequence: counter, cids: fc.array(hex64, { maxLength: 6 }), ids: fc.array(hex64, { maxLength: 6 }) }),
  members: fc.dictionary(hex64, fc.constantFrom(...ROLES), { maxKeys: 8 }),
});

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const good = (): Record<string, unknown> => ({
  kind: KIND,
  grant_nonces: { [`${A}:${B}`]: 3 },
  rn_set: { epoch: 1, sequence: 2 },
  revocation: { epoch: 0, sequence: 4, cids: [A], ids: [B] },
  members: { [A]: 'gateway' },
});

describe('pantheon state properties', () => {
  it('saveState then loadState gives back every generated state', () => {
    fc.assert(
      fc.property(stateArb, (s) => {
        saveState(dir, s);
        expect(loadState(dir)).toEqual(s);
      }),
      { numRuns: 150 },
    );
  });

  it('a file without "members" (written before it existed) decodes with no members', () => {
    const { members: _m, ...old } = good();
    expect(load(JSON.stringify(old))).toEqual({
      grantNonces: { [`${A}:${B}`]: 3 },
      rnSet: { epoch: 1, sequence: 2 },
      revocation: { epoch: 0, sequence: 4, cids: [A], ids: [B] },
      members: {},
    });
  });

  it('a missing file is FILE_NOT_FOUND, never an empty state', () => {
    expect(codeOf(() => loadState(join(root, 'nowhere')))).toBe(FileErrorCode.FILE_NOT_FOUND);
  });

  it('any bad value put in any counter, id or key is refused with FILE_INVALID', () => {
    const where = fc.constantFrom<(o: Record<string, any>, v: unknown) => void>(
      (o, v) => (o.rn_set.epoch = v),
      (o, v) => (o.rn_set.sequence = v),
      (o, v) => (o.revocation.epoch = v),
      (o, v) => (o.revocation.sequence = v),
      (o, v) => (o.grant_nonces[`${A}:${B}`] = v),
      (o, v) => (o.revocation.cids = [v]),
      (o, v) => (o.revocation.ids = [A, v]),
      (o, v) => (o.members[A] = v),
    );
    // None of these is a non-negative safe integer, a 64-hex id or a role.
    const badValue = fc.oneof(
      fc.integer({ max: -1 }),
      fc.double({ noInteger: true }),
      fc.constantFrom(2 ** 53, 1e300, null, true, 'gateway ', 'GATEWAY', 'A'.repeat(64), 'a'.repeat(63), 'a'.repeat(65), '', [], {}),
      fc.string({ maxLength: 8 }).filter((x) => !(ROLES as readonly string[]).includes(x)),
    );
    fc.assert(
      fc.property(where, badValue, (put, v) => {
        const o = good();
        put(o, v);
        expect(load(JSON.stringify(o))).toBe(FileErrorCode.FILE_INVALID);
      }),
      { numRuns: 600 },
    );
  });

  it('any malformed grant_nonces or members key is refused with FILE_INVALID', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 140 }), fc.boolean(), (k, inMembers) => {
        fc.pre(!(inMembers ? /^[0-9a-f]{64}$/ : /^[0-9a-f]{64}:[0-9a-f]{64}$/).test(k));
        const o = good();
        if (inMembers) o.members = { [k]: 'operator' };
        else o.grant_nonces = { [k]: 1 };
        expect(load(JSON.stringify(o))).toBe(FileErrorCode.FILE_INVALID);
      }),
      { numRuns: 300 },
    );
    expect(load(JSON.stringify({ ...good(), members: { [A.toUpperCase()]: 'rn' } }))).toBe(FileErrorCode.FILE_INVALID);
    expect(load(JSON.stringify({ ...good(), grant_nonces: { [`${A}${B}`]: 1 } }))).toBe(FileErrorCode.FILE_INVALID);
  });
});

describe('pantheon state junk', () => {
  it('random text, JSON and mutated state files: FILE_INVALID or a well-formed state', () => {
    const base = JSON.stringify(good());
    const mutated = fc.array(fc.record({ at: fc.nat(), ch: fc.constantFrom('"', '{', '}', '[', ']', ',', ':', '0', '-', 'a', 'A', '.', 'e', '\\', ' ', '') }), { minLength: 1, maxLength: 4 }).map((ops) => {
      let s = base;
      for (const op of ops) {
        const p = op.at % (s.length + 1);
        s = s.slice(0, p) + op.ch + s.slice(p + 1);
      }
      return s;
    });
    const text = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.json({ maxDepth: 4 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify({ ...good(), [['grant_nonces', 'rn_set', 'revocation', 'members'][JSON.stringify(v ?? 0).length % 4]!]: v })),
      mutated,
    );
    let accepted = 0;
    fc.assert(
      fc.property(text, (s) => {
        const r = load(s);
        if (typeof r === 'string') expect(r).toBe(FileErrorCode.FILE_INVALID);
        else {
          accepted++;
          expectWellFormed(r);
        }
      }),
      { numRuns: 2000 },
    );
    expect(accepted).toBeGreaterThan(0);
  });

  it('truncations, invalid UTF-8, huge and deeply nested files', () => {
    const full = JSON.stringify(good());
    for (let n = 0; n < full.length; n++) expect(load(full.slice(0, n))).toBe(FileErrorCode.FILE_INVALID);
    writeFileSync(statePath(dir), Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
    expect(codeOf(() => loadState(dir))).toBe(FileErrorCode.FILE_INVALID);
    const many = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`${i.toString(16).padStart(64, '0')}:${B}`, i]));
    const big = load(JSON.stringify({ ...good(), grant_nonces: many }));
    expect(typeof big === 'object' && Object.keys(big.grantNonces).length).toBe(20_000);
    expect(load('['.repeat(100_000) + ']'.repeat(100_000))).toBe(FileErrorCode.FILE_INVALID);
    expect(load(JSON.stringify({ ...good(), rn_set: { epoch: 1, sequence: Number('9'.repeat(400)) } }).replace('null', '9'.repeat(400)))).toBe(FileErrorCode.FILE_INVALID);
    expect(load(`{"kind":"${KIND}","${'k'.repeat(1 << 20)}":1}`)).toBe(FileErrorCode.FILE_INVALID);
    // Over the 8 MiB cap.
    writeFileSync(statePath(dir), JSON.stringify({ ...good(), pad: ' '.repeat(9 << 20) }));
    expect(() => loadState(dir)).toThrow(/too large for a Pantheon state file/);
    expect(codeOf(() => loadState(dir))).toBe(FileErrorCode.FILE_INVALID);
  });
});
