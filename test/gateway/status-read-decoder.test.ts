// parseGatewayStatus / readGatewayStatus: a round trip with the writer (writeStatusFile, padded to
// whole blocks) over generated statuses, the refusal of each broken field, and junk. Only
// FILE_INVALID may escape; whatever is accepted has every field the reader relies on.

import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileErrorCode } from '../../src/files/errors.js';
import { parseGatewayStatus, readGatewayStatus } from '../../src/gateway/status-read.js';
import { STATUS_BLOCK_BYTES, STATUS_KIND, STATUS_VERSION, writeStatusFile, type GatewayStatus } from '../../src/gateway/status-file.js';
import { CodedError } from '../../src/lib/errors.js';
import { codeOf } from '../helpers/errors.js';
import { sampleStatus } from './status-sample.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-status-decoder-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const iso = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString());
const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const text = fc.string({ maxLength: 30, unit: 'grapheme' });
const posInt = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
const lastError = fc.record({ code: text, message: text, at: iso });

const statusArb: fc.Arbitrary<GatewayStatus> = fc.record(
  {
    kind: fc.constant(STATUS_KIND),
    version: fc.constant(STATUS_VERSION),
    written_at: iso,
    pid: posInt,
    state: fc.constantFrom('running', 'stopped'),
    started_at: iso,
    interval_ms: posInt,
    config: text,
    identity: fc.record({ cid: hex64, name: text, board: text }, { requiredKeys: ['cid', 'board'] }),
    runtime: fc.record({ node: text, exec_path: text, arch: text, platform: text }),
    rn: fc.record(
      {
        state: fc.constantFrom('connecting', 'attached', 'detached', 'stopped'),
        rn: hex64,
        address: text,
        links: fc.array(fc.record({ rn: hex64, address: text }), { maxLength: 3 }),
        since: iso,
        failures: fc.nat(),
        last_error: lastError,
      },
      { requiredKeys: ['state', 'since', 'failures'] },
    ),
    artefacts: fc.array(
      fc.record(
        {
          kind: fc.constantFrom('pcert', 'rn-set', 'revocation'),
          file: text,
          object_id: hex64,
          epoch: fc.nat(),
          sequence: fc.nat(),
          not_before: iso,
          expires_at: iso,
          expiry: fc.constantFrom('ok', 'expiring', 'expired'),
          warning: text,
        },
        { requiredKeys: ['kind', 'object_id', 'epoch', 'sequence', 'not_before', 'expires_at', 'expiry'] },
      ),
      { maxLength: 4 },
    ),
    slots: fc.array(
      fc.record(
        { slot: text, device: text, driver: text, state: fc.constantFrom('running', 'stopped'), readings: fc.nat(), problem: text, detail: fc.dictionary(text, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }) },
        { requiredKeys: ['slot', 'device', 'driver', 'state', 'readings', 'detail'] },
      ),
      { maxLength: 4 },
    ),
    sessions: fc.record({ open: fc.nat(), channels: fc.nat(), refusals: fc.nat() }),
    reading_log: fc.record(
      {
        file: text,
        durability: text,
        readings: fc.nat(),
        bytes: fc.nat(),
        max_bytes: fc.nat(),
        pending: fc.nat(),
        pending_bytes: fc.nat(),
        wal_discarded: fc.nat(),
        dropped: fc.dictionary(text, fc.nat(), { maxKeys: 3 }),
        pending_dropped: fc.dictionary(text, fc.nat(), { maxKeys: 3 }),
        receipted: fc.nat(),
        kept_for_nobody: fc.nat(),
        commit_failing: fc.record({ since: iso, error: text }),
      },
      { requiredKeys: ['file', 'durability', 'readings', 'bytes', 'max_bytes', 'pending', 'dropped', 'receipted'] },
    ),
    publish: fc.array(fc.record({ collector: hex64, state: text, unreceipted: fc.nat(), receipts: fc.nat(), too_large: fc.nat(), rn: hex64, last_receipt_at: iso, last_error: lastError }, { requiredKeys: ['collector', 'state', 'unreceipted', 'receipts'] }), { maxLength: 2 }),
  },
  { requiredKeys: ['kind', 'version', 'written_at', 'pid', 'state', 'started_at', 'interval_ms', 'config', 'identity', 'runtime', 'rn', 'artefacts', 'slots', 'sessions'] },
) as fc.Arbitrary<GatewayStatus>;

/** JSON drops -0 and undefined; the writer's JSON is what a reader can get back. */
const asJson = (s: GatewayStatus): unknown => JSON.parse(JSON.stringify(s));

function decode(t: string): GatewayStatus | string {
  try {
    return parseGatewayStatus(t, 'status.json');
  } catch (e) {
    if (!(e instanceof CodedError)) throw new Error(`untyped error for ${JSON.stringify(t.slice(0, 120))}: ${String(e)}`, { cause: e });
    return e.code;
  }
}

function expectWellFormed(s: GatewayStatus): void {
  expect(s.kind).toBe(STATUS_KIND);
  expect(s.version).toBe(STATUS_VERSION);
  expect(Number.isNaN(Date.parse(s.written_at))).toBe(false);
  expect(Number.isNaN(Date.parse(s.started_at))).toBe(false);
  expect(Number.isSafeInteger(s.pid) && s.pid > 0).toBe(true);
  expect(Number.isSafeInteger(s.interval_ms) && s.interval_ms > 0).toBe(true);
  expect(['running', 'stopped']).toContain(s.state);
  expect(typeof s.identity.cid).toBe('string');
  for (const o of [s.runtime, s.rn, s.sessions]) expect(typeof o === 'object' && o !== null && !Array.isArray(o)).toBe(true);
  for (const a of s.artefacts) {
    expect(typeof a.kind).toBe('string');
    expect(Number.isNaN(Date.parse(a.expires_at))).toBe(false);
  }
  for (const x of s.slots) expect(typeof x === 'object' && x !== null && !Array.isArray(x)).toBe(true);
}

describe('gateway status round trip', () => {
  it('parse(JSON of any status) gives back that status', () => {
    fc.assert(
      fc.property(statusArb, (s) => {
        expect(parseGatewayStatus(JSON.stringify(s), 'status.json')).toEqual(asJson(s));
        expect(parseGatewayStatus(JSON.stringify(s, null, 2), 'status.json')).toEqual(asJson(s));
      }),
      { numRuns: 500 },
    );
  });

  it('writeStatusFile then readGatewayStatus gives back any status, padded to whole blocks', async () => {
    await fc.assert(
      fc.asyncProperty(statusArb, async (s) => {
        const file = join(dir, 'status.json');
        await writeStatusFile(file, s);
        expect(readGatewayStatus(file)).toEqual(asJson(s));
      }),
      { numRuns: 60 },
    );
    // The padding is JSON whitespace a reader skips: a status much smaller than a block still reads.
    const file = join(dir, 'small.json');
    await writeStatusFile(file, sampleStatus());
    expect(readGatewayStatus(file).pid).toBe(4242);
    expect(STATUS_BLOCK_BYTES).toBe(4096);
  });

  it('a reader ignores fields it does not rely on (a newer writer may add some)', () => {
    const s = { ...sampleStatus(), future_field: { x: [1, 2] } };
    expect(parseGatewayStatus(JSON.stringify(s), 'f')).toEqual(s);
  });
});

describe('gateway status refusals (property)', () => {
  it('breaking any relied-on field with any wrong value is FILE_INVALID', () => {
    const breakers: [string, fc.Arbitrary<(o: Record<string, any>) => void>][] = [
      ['kind', fc.jsonValue().filter((v) => v !== STATUS_KIND).map((v) => (o) => (o.kind = v))],
      ['version', fc.jsonValue().filter((v) => v !== STATUS_VERSION).map((v) => (o) => (o.version = v))],
      ['written_at', fc.oneof(fc.constantFrom('yesterday', '', 'T', '2026-13-45T00:00:00Z'), fc.integer(), fc.constant(null)).map((v) => (o) => (o.written_at = v))],
      ['started_at', fc.constantFrom('later', 0, [], {}).map((v) => (o) => (o.started_at = v))],
      ['pid', fc.oneof(fc.integer({ max: 0 }), fc.double({ noInteger: true }), fc.constantFrom(2 ** 53, '42', null)).map((v) => (o) => (o.pid = v))],
      ['interval_ms', fc.oneof(fc.integer({ max: 0 }), fc.constantFrom(1.5, 1e300, '30000', true)).map((v) => (o) => (o.interval_ms = v))],
      ['state', fc.string().filter((v) => v !== 'running' && v !== 'stopped').map((v) => (o) => (o.state = v))],
      ['identity', fc.constantFrom(null, [], 'x', { board: 'b' }, { cid: 1 }).map((v) => (o) => (o.identity = v))],
      ['runtime/rn/sessions', fc.tuple(fc.constantFrom('runtime', 'rn', 'sessions'), fc.constantFrom(null, [], 1, 'x')).map(([k, v]) => (o) => (o[k] = v))],
      ['slots', fc.constantFrom(null, {}, 'x', [1], [null], [[]]).map((v) => (o) => (o.slots = v))],
      ['artefacts', fc.constantFrom(null, {}, [1], [{ kind: 'pcert' }], [{ expires_at: '2027-01-01T00:00:00Z' }], [{ kind: 3, expires_at: '2027-01-01T00:00:00Z' }], [{ kind: 'pcert', expires_at: 'never' }]).map((v) => (o) => (o.artefacts = v))],
      ['missing', fc.constantFrom('kind', 'version', 'written_at', 'started_at', 'pid', 'interval_ms', 'state', 'identity', 'runtime', 'rn', 'sessions', 'slots', 'artefacts').map((k) => (o) => delete o[k])],
    ];
    fc.assert(
      fc.property(fc.oneof(...breakers.map(([, a]) => a)), (brk) => {
        const o = structuredClone(sampleStatus()) as unknown as Record<string, any>;
        brk(o);
        expect(decode(JSON.stringify(o))).toBe(FileErrorCode.FILE_INVALID);
      }),
      { numRuns: 1500 },
    );
  });
});

describe('gateway status junk', () => {
  it('random text, random JSON and mutated files: FILE_INVALID or a well-formed status', () => {
    const base = JSON.stringify(sampleStatus());
    const mutated = fc.array(fc.record({ at: fc.nat(), ch: fc.constantFrom('"', '{', '}', '[', ']', ',', ':', '0', '-', 'a', 'Z', 'T', '\\', ' ', '') }), { minLength: 1, maxLength: 4 }).map((ops) => {
      let s = base;
      for (const op of ops) {
        const p = op.at % (s.length + 1);
        s = s.slice(0, p) + op.ch + s.slice(p + 1);
      }
      return s;
    });
    const t = fc.oneof(fc.string({ maxLength: 200 }), fc.json({ maxDepth: 4 }), mutated, fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify({ ...sampleStatus(), ...(typeof v === 'object' && v !== null && !Array.isArray(v) ? v : { pid: v }) })));
    let accepted = 0;
    fc.assert(
      fc.property(t, (s) => {
        const r = decode(s);
        if (typeof r === 'string') expect(r).toBe(FileErrorCode.FILE_INVALID);
        else {
          accepted++;
          expectWellFormed(r);
        }
      }),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(0);
  });

  it('truncations (a torn in-place rewrite), huge and deeply nested files, invalid UTF-8', () => {
    const full = JSON.stringify(sampleStatus(), null, 2);
    for (let n = 0; n < full.length; n++) expect(decode(full.slice(0, n))).toBe(FileErrorCode.FILE_INVALID);
    expect(decode('['.repeat(200_000) + ']'.repeat(200_000))).toBe(FileErrorCode.FILE_INVALID);
    expect(decode(JSON.stringify({ ...sampleStatus(), pid: 1e308 }))).toBe(FileErrorCode.FILE_INVALID);
    expect(decode(JSON.stringify({ ...sampleStatus(), pid: 7 }).replace('"pid":7', `"pid":${'9'.repeat(400)}`))).toBe(FileErrorCode.FILE_INVALID);
    const manySlots = decode(JSON.stringify({ ...sampleStatus(), slots: Array.from({ length: 10_000 }, (_, i) => ({ slot: `s${i}` })) }));
    expect(typeof manySlots === 'object' && manySlots.slots.length).toBe(10_000);
    const file = join(dir, 'junk.json');
    writeFileSync(file, Buffer.from([0x7b, 0xc3, 0x28, 0x7d]));
    expect(codeOf(() => readGatewayStatus(file))).toBe(FileErrorCode.FILE_INVALID);
    writeFileSync(file, ' '.repeat((1 << 20) + 1));
    expect(codeOf(() => readGatewayStatus(file))).toBe(FileErrorCode.FILE_INVALID);
  });
});
