// parseCollectorConfig (docs/COLLECTOR.md): vectors, a property over generated valid configs (every
// path resolved beside the file, defaults filled in), and junk. Only FILE_INVALID may escape.

import fc from 'fast-check';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PURPOSES, parseCollectorConfig, type CollectorConfig } from '../../src/collector/config.js';
import { FileErrorCode } from '../../src/files/errors.js';
import { CodedError } from '../../src/lib/errors.js';
import { PURPOSE_PATTERN } from '../../src/uzp/artefacts/grant.js';
import { codeOf } from '../helpers/errors.js';

const FILE = '/etc/uzp-collector/collector.json';
const DIR = '/etc/uzp-collector';
const KIND = 'uzp-gw/collector-config';

const minimal = (): Record<string, unknown> => ({
  kind: KIND,
  identity: { key: 'collector.key', pcert: 'collector.pcert' },
  trust: { anchor: 'trust/anchor.json', rn_set: 'trust/rn-set.uzp' },
});

const parse = (o: unknown, file = FILE): CollectorConfig => parseCollectorConfig(JSON.stringify(o), file);

/** parse, or the code of the CodedError it threw; anything untyped fails the test. */
function decode(text: string): CollectorConfig | string {
  try {
    return parseCollectorConfig(text, FILE);
  } catch (e) {
    if (!(e instanceof CodedError)) throw new Error(`untyped error for ${JSON.stringify(text.slice(0, 120))}: ${String(e)}`, { cause: e });
    return e.code;
  }
}

function expectWellFormed(c: CollectorConfig): void {
  expect(c.file).toBe(FILE);
  for (const p of [c.identity.key, c.identity.pcert, c.trust.anchor, c.trust.rnSet, ...c.trust.revocations]) expect(p.startsWith('/')).toBe(true);
  expect(c.db.startsWith('/') || /^postgres(ql)?:\/\//.test(c.db)).toBe(true);
  expect(c.purposes.length).toBeGreaterThanOrEqual(1);
  expect(c.purposes.length).toBeLessThanOrEqual(16);
  expect(new Set(c.purposes).size).toBe(c.purposes.length);
  expect(Number.isInteger(c.rnLinks) && c.rnLinks >= 1 && c.rnLinks <= 4).toBe(true);
  expect(c.trust.revocations.length).toBeLessThanOrEqual(16);
  if (c.name !== undefined) expect(c.name.length >= 1 && c.name.length <= 64).toBe(true);
}

describe('parseCollectorConfig vectors', () => {
  it('a minimal config: paths beside the file, defaults for db, purposes and links', () => {
    expect(parse(minimal())).toEqual({
      file: FILE,
      identity: { key: `${DIR}/collector.key`, pcert: `${DIR}/collector.pcert` },
      trust: { anchor: `${DIR}/trust/anchor.json`, rnSet: `${DIR}/trust/rn-set.uzp`, revocations: [] },
      db: `${DIR}/collector.db`,
      purposes: ['telemetry.store'],
      rnLinks: 2,
    });
    expect(DEFAULT_PURPOSES).toEqual(['telemetry.store']);
  });

  it('a full config: name, absolute and relative paths, a postgres URL kept verbatim, purposes, links', () => {
    const c = parse({
      ...minimal(),
      name: 'plant-historian',
      identity: { key: '/var/lib/uzp-collector/id.key', pcert: '../shared/id.pcert' },
      trust: { anchor: 'a.json', rn_set: 'rn.uzp', revocations: ['rev/1.uzp', '/abs/2.uzp'] },
      db: 'postgresql://historian@db.local/readings',
      purposes: ['telemetry.store', 'alarms.notify', 'x_y-z'],
      rn: { links: 4 },
    });
    expect(c).toEqual({
      file: FILE,
      name: 'plant-historian',
      identity: { key: '/var/lib/uzp-collector/id.key', pcert: '/etc/shared/id.pcert' },
      trust: { anchor: `${DIR}/a.json`, rnSet: `${DIR}/rn.uzp`, revocations: [`${DIR}/rev/1.uzp`, '/abs/2.uzp'] },
      db: 'postgresql://historian@db.local/readings',
      purposes: ['telemetry.store', 'alarms.notify', 'x_y-z'],
      rnLinks: 4,
    });
    expect(parse({ ...minimal(), db: 'postgres://h/d' }).db).toBe('postgres://h/d');
    expect(parse({ ...minimal(), db: 'data/c.db' }).db).toBe(`${DIR}/data/c.db`);
    expect(parse({ ...minimal(), db: 'mysql://h/d' }).db).toBe(`${DIR}/mysql:/h/d`); // not a URL it knows: a path
    expect(parse({ ...minimal(), rn: {} }).rnLinks).toBe(2);
    expect(parseCollectorConfig(JSON.stringify(minimal()), 'rel/c.json').identity.key).toBe(resolve('rel/collector.key'));
  });

  it('refuses each malformed field with FILE_INVALID, naming the file', () => {
    const t = (o: unknown): string => codeOf(() => parse(o));
    const bad: unknown[] = [
      null,
      [],
      'text',
      { ...minimal(), kind: 'uzp-gw/gateway-config' },
      { ...minimal(), extra: 1 },
      { kind: KIND, trust: minimal().trust },
      { kind: KIND, identity: minimal().identity },
      { ...minimal(), identity: { key: 'k' } },
      { ...minimal(), identity: { key: 'k', pcert: 'p', seed: 's' } },
      { ...minimal(), identity: ['k', 'p'] },
      { ...minimal(), identity: { key: '', pcert: 'p' } },
      { ...minimal(), identity: { key: 7, pcert: 'p' } },
      { ...minimal(), identity: { key: 'k'.repeat(1025), pcert: 'p' } },
      { ...minimal(), trust: { anchor: 'a', rn_set: 'r', revocations: 'r1' } },
      { ...minimal(), trust: { anchor: 'a', rn_set: 'r', revocations: [''] } },
      { ...minimal(), trust: { anchor: 'a', rn_set: 'r', revocations: [1] } },
      { ...minimal(), trust: { anchor: 'a', rn_set: 'r', revocations: Array.from({ length: 17 }, (_, i) => `r${i}`) } },
      { ...minimal(), trust: { anchor: 'a', rn_set: 'r', crl: [] } },
      { ...minimal(), db: '' },
      { ...minimal(), db: 5 },
      { ...minimal(), db: 'x'.repeat(2049) },
      { ...minimal(), purposes: [] },
      { ...minimal(), purposes: 'telemetry.store' },
      { ...minimal(), purposes: ['telemetry.store', 'telemetry.store'] },
      { ...minimal(), purposes: ['Telemetry'] },
      { ...minimal(), purposes: ['telemetry.'] },
      { ...minimal(), purposes: ['.telemetry'] },
      { ...minimal(), purposes: [1] },
      { ...minimal(), purposes: Array.from({ length: 17 }, (_, i) => `p${i}`) },
      { ...minimal(), rn: { links: 0 } },
      { ...minimal(), rn: { links: 5 } },
      { ...minimal(), rn: { links: 1.5 } },
      { ...minimal(), rn: { links: '2' } },
      { ...minimal(), rn: { links: 2, standby: 1 } },
      { ...minimal(), rn: 2 },
      { ...minimal(), rn: null },
      { ...minimal(), name: '' },
      { ...minimal(), name: 'n'.repeat(65) },
      { ...minimal(), name: null },
    ];
    for (const o of bad) expect(t(o), JSON.stringify(o)).toBe(FileErrorCode.FILE_INVALID);
    expect(codeOf(() => parseCollectorConfig('{"kind":', FILE))).toBe(FileErrorCode.FILE_INVALID);
    expect(codeOf(() => parseCollectorConfig(`{"kind":"${KIND}","kind":"${KIND}"}`, FILE))).toBe(FileErrorCode.FILE_INVALID);
    expect(() => parse({ ...minimal(), rn: { links: 9 } })).toThrow(`${FILE}: "rn.links" must be 1..4`);
    expect(() => parse({ ...minimal(), identity: { key: 'k', pcert: 'p', x: 1 } })).toThrow(`${FILE}: "identity": unknown field "x"`);
  });
});

const segment = fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,15}$/).filter((s) => s !== '.' && s !== '..');
const relPath = fc.array(segment, { minLength: 1, maxLength: 4 }).map((a) => a.join('/'));
const anyPath = fc.oneof(relPath, relPath.map((p) => `/${p}`));
const purpose = fc.stringMatching(/^[a-z][a-z0-9_-]{0,10}(\.[a-z][a-z0-9_-]{0,10}){0,2}$/);

describe('parseCollectorConfig properties', () => {
  it('any valid config decodes to its fields, resolved beside the file, defaults where absent', () => {
    const arb = fc.record(
      {
        name: fc.string({ minLength: 1, maxLength: 64 }),
        key: anyPath,
        pcert: anyPath,
        anchor: anyPath,
        rnSet: anyPath,
        revocations: fc.array(anyPath, { maxLength: 16 }),
        db: fc.oneof(anyPath, fc.webUrl().map((u) => u.replace(/^https?/, 'postgres'))),
        purposes: fc.uniqueArray(purpose, { minLength: 1, maxLength: 16 }),
        links: fc.integer({ min: 1, max: 4 }),
      },
      { requiredKeys: ['key', 'pcert', 'anchor', 'rnSet'] },
    );
    fc.assert(
      fc.property(arb, fc.constantFrom('/etc/c/collector.json', '/srv/a b/é/c.json'), (g, file) => {
        const dir = file.slice(0, file.lastIndexOf('/'));
        const o: Record<string, unknown> = {
          kind: KIND,
          identity: { key: g.key, pcert: g.pcert },
          trust: { anchor: g.anchor, rn_set: g.rnSet, ...(g.revocations !== undefined ? { revocations: g.revocations } : {}) },
          ...(g.name !== undefined ? { name: g.name } : {}),
          ...(g.db !== undefined ? { db: g.db } : {}),
          ...(g.purposes !== undefined ? { purposes: g.purposes } : {}),
          ...(g.links !== undefined ? { rn: { links: g.links } } : {}),
        };
        const c = parse(o, file);
        expect(c).toEqual({
          file,
          ...(g.name !== undefined ? { name: g.name } : {}),
          identity: { key: resolve(dir, g.key), pcert: resolve(dir, g.pcert) },
          trust: { anchor: resolve(dir, g.anchor), rnSet: resolve(dir, g.rnSet), revocations: (g.revocations ?? []).map((r) => resolve(dir, r)) },
          db: g.db === undefined ? `${dir}/collector.db` : g.db.startsWith('postgres://') ? g.db : resolve(dir, g.db),
          purposes: g.purposes ?? ['telemetry.store'],
          rnLinks: g.links ?? 2,
        });
      }),
      { numRuns: 400 },
    );
  });

  it('a wrong JSON type in any field of a valid config is refused with FILE_INVALID', () => {
    const full = { ...minimal(), name: 'n', db: 'c.db', purposes: ['a'], rn: { links: 1 }, trust: { anchor: 'a', rn_set: 'r', revocations: ['x'] } };
    const fields: [string[], (v: unknown) => boolean][] = [
      [['name'], (v) => typeof v === 'string' && v.length > 0],
      [['db'], (v) => typeof v === 'string' && v.length > 0],
      [['purposes'], (v) => Array.isArray(v) && v.length >= 1 && v.length <= 16 && v.every((x) => typeof x === 'string' && PURPOSE_PATTERN.test(x)) && new Set(v).size === v.length],
      [['rn'], (v) => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.entries(v).every(([k, x]) => k === 'links' && [1, 2, 3, 4].includes(x as number))],
      [['identity'], () => false],
      [['trust'], () => false],
      [['identity', 'key'], (v) => typeof v === 'string' && v.length > 0],
      [['trust', 'rn_set'], (v) => typeof v === 'string' && v.length > 0],
      [['trust', 'revocations'], (v) => Array.isArray(v) && v.length <= 16 && v.every((r) => typeof r === 'string' && r.length > 0)],
      [['rn', 'links'], (v) => v === 1 || v === 2 || v === 3 || v === 4],
    ];
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.jsonValue(), ([path, ok], v) => {
        // null is left to its own test below (it is taken for "absent" by three fields).
        fc.pre(!ok(v) && v !== undefined && v !== null);
        const o = structuredClone(full) as unknown as Record<string, Record<string, unknown>>;
        if (path.length === 1) (o as Record<string, unknown>)[path[0]!] = v;
        else o[path[0]!]![path[1]!] = v;
        expect(codeOf(() => parse(o))).toBe(FileErrorCode.FILE_INVALID);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parseCollectorConfig null fields', () => {
  // Like the gateway config (config/node.ts opt: a present field is read), an optional field that
  // is present must hold its type: null is not "absent". name and db already refuse null.
  it('refuses null for purposes, trust.revocations and rn.links as it does for name and db', () => {
    expect(codeOf(() => parse({ ...minimal(), name: null }))).toBe(FileErrorCode.FILE_INVALID);
    expect(codeOf(() => parse({ ...minimal(), db: null }))).toBe(FileErrorCode.FILE_INVALID);
    expect(codeOf(() => parse({ ...minimal(), purposes: null }))).toBe(FileErrorCode.FILE_INVALID);
    expect(codeOf(() => parse({ ...minimal(), trust: { anchor: 'a', rn_set: 'r', revocations: null } }))).toBe(FileErrorCode.FILE_INVALID);
    expect(codeOf(() => parse({ ...minimal(), rn: { links: null } }))).toBe(FileErrorCode.FILE_INVALID);
  });
});

describe('parseCollectorConfig junk', () => {
  it('random text, random JSON and mutated configs: FILE_INVALID or a well-formed config', () => {
    const base = JSON.stringify({ ...minimal(), name: 'n', purposes: ['a.b'], rn: { links: 3 }, db: 'postgres://x/y' });
    const mutated = fc.array(fc.record({ at: fc.nat(), ch: fc.constantFrom('"', '{', '}', '[', ']', ',', ':', '0', 'a', '.', '\\', ' ', '\u0000', 'é', '') }), { minLength: 1, maxLength: 5 }).map((ops) => {
      let s = base;
      for (const op of ops) {
        const p = op.at % (s.length + 1);
        s = s.slice(0, p) + op.ch + s.slice(p + 1);
      }
      return s;
    });
    const text = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.json({ maxDepth: 4 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify({ ...minimal(), ...(typeof v === 'object' && v !== null && !Array.isArray(v) ? v : { name: v }) })),
      mutated,
    );
    let accepted = 0;
    fc.assert(
      fc.property(text, (s) => {
        const r = decode(s);
        if (typeof r === 'string') expect(r).toBe(FileErrorCode.FILE_INVALID);
        else {
          accepted++;
          expectWellFormed(r);
        }
      }),
      { numRuns: 4000 },
    );
    expect(accepted).toBeGreaterThan(0);
  });

  it('truncations of a valid config, huge and deeply nested values', () => {
    const full = JSON.stringify({ ...minimal(), name: 'n', purposes: ['a.b'], rn: { links: 3 }, db: 'c.db' });
    for (let n = 0; n < full.length; n++) expect(decode(full.slice(0, n)), full.slice(0, n)).toBe(FileErrorCode.FILE_INVALID);
    const huge: string[] = [
      '['.repeat(100_000) + ']'.repeat(100_000),
      '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000),
      JSON.stringify({ ...minimal(), name: 'n'.repeat(1 << 20) }),
      JSON.stringify({ ...minimal(), rn: { links: 1e308 } }),
      JSON.stringify({ ...minimal(), purposes: Array.from({ length: 100_000 }, (_, i) => `p${i}`) }),
      JSON.stringify({ ...minimal(), trust: { anchor: 'a', rn_set: 'r', revocations: Array.from({ length: 100_000 }, () => 'r') } }),
      `{"kind":"${KIND}","rn":{"links":${'9'.repeat(400)}}}`,
      `{"kind":"${KIND}","${'k'.repeat(1 << 20)}":1}`,
    ];
    for (const s of huge) expect(decode(s)).toBe(FileErrorCode.FILE_INVALID);
  });
});
