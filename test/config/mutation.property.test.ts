// Random mutations of a valid config (and of board files) never crash the validator: it returns
// issues, each with a file, a path, what was expected, what was found and a fix — and it returns
// a config exactly when there are no errors. 10,000 structural mutations + 10,000 text mutations
// of the config, 1,000 structural mutations of each board file.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boardToJson, checkBoardText, formatIssue, listBoards, type ConfigIssue } from '../../src/config/index.js';
import { check, virtualConfig } from './fixtures.js';

type Json = unknown;

/** Every (container, key) pair in a JSON tree, the root's children first. */
function slotsOf(v: Json): [Record<string, Json> | Json[], string | number][] {
  const out: [Record<string, Json> | Json[], string | number][] = [];
  const walk = (x: Json): void => {
    if (Array.isArray(x)) x.forEach((c, i) => (out.push([x, i]), walk(c)));
    else if (x !== null && typeof x === 'object') for (const k of Object.keys(x)) (out.push([x as Record<string, Json>, k]), walk((x as Record<string, Json>)[k]));
  };
  walk(v);
  return out;
}

const INTERESTING: Json[] = [
  '', 'hold', 'holding', 'mqtt-bridge', 'modbus-poller', 'serial-line', 'rs485-1', 'net-1', 'virtual', 'rpi-4b', 'acme-th20', '/dev/ttyUSB0',
  'mqtt://h:1', 'x'.repeat(300), 0, -1, 1, 2, 7, 8, 247, 248, 65535, 65536, 1e300, -0, 0.5, 1e-9, true, false, null, [], {}, [1, 2], { a: 1 },
];

const mutation = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('delete', 'replace', 'interesting', 'rename', 'insert', 'duplicate'),
  value: fc.jsonValue({ maxDepth: 3 }),
  pick: fc.nat(),
  name: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('baud', 'units', 'device', 'registers', 'tcp', 'serial', 'port_path', '__proto__', 'profile')),
});

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(base: Json, muts: readonly Mutation[]): Json {
  const c = JSON.parse(JSON.stringify(base)) as Json;
  for (const m of muts) {
    const spots = slotsOf(c);
    if (spots.length === 0) break;
    const [parent, key] = spots[m.at % spots.length]!;
    const set = (v: Json): void => {
      if (Array.isArray(parent)) parent[key as number] = v;
      else Object.defineProperty(parent, key as string, { value: v, enumerable: true, writable: true, configurable: true });
    };
    const current = (parent as Record<string | number, Json>)[key as never];
    switch (m.op) {
      case 'delete':
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete (parent as Record<string, Json>)[key as string];
        break;
      case 'replace':
        set(structuredClone(m.value));
        break;
      case 'interesting':
        // A copy: a later mutation may change what it sets, and the shared constant must stay as it is
        // (once one run wrote a container into itself, every later run of the file saw a cycle).
        set(structuredClone(INTERESTING[m.pick % INTERESTING.length]));
        break;
      case 'rename':
        if (!Array.isArray(parent)) {
          delete (parent as Record<string, Json>)[key as string];
          Object.defineProperty(parent, m.name, { value: current, enumerable: true, writable: true, configurable: true });
        }
        break;
      case 'insert':
        if (Array.isArray(parent)) parent.push(structuredClone(m.value));
        else Object.defineProperty(parent, m.name, { value: structuredClone(m.value), enumerable: true, writable: true, configurable: true });
        break;
      case 'duplicate':
        if (Array.isArray(parent)) parent.push(JSON.parse(JSON.stringify(current ?? null)));
        break;
    }
  }
  return c;
}

/** Plain checks (not expect) in the hot loop: thousands of issues per run. */
function wellFormed(issues: readonly ConfigIssue[]): void {
  for (const i of issues) {
    const ok = typeof i.path === 'string' && i.file.length > 0 && i.expected.length > 0 && i.found.length > 0 && i.fix.length > 0 && formatIssue(i).includes(i.expected);
    if (!ok) throw new Error(`malformed issue ${JSON.stringify(i)}`);
  }
}

// Heavy but bounded by run counts, not by time: a generous per-test timeout for slow CI machines.
const SLOW = { timeout: 180_000 };

describe('the validator never crashes', () => {
  it('10,000 random structural mutations of a valid config: only issues, config iff no errors', SLOW, () => {
    let valid = 0;
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (muts) => {
        const r = check(mutate(virtualConfig(), muts));
        wellFormed(r.issues);
        const errs = r.issues.filter((i) => i.severity === 'error').length;
        if ((r.config === undefined) !== errs > 0) throw new Error('config returned despite errors (or withheld without)');
        if (r.config !== undefined) valid++;
      }),
      { numRuns: 10_000 },
    );
    // Some mutations are harmless (a description changed, a default written out): both outcomes occur.
    expect(valid).toBeGreaterThan(0);
  });

  it('10,000 text-level mutations (cut, spliced, garbage bytes): only issues', SLOW, () => {
    const text = JSON.stringify(virtualConfig(), null, 2);
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.string({ maxLength: 8 }), fc.boolean(), (at, len, ins, truncate) => {
        const i = at % (text.length + 1);
        const t = truncate ? text.slice(0, i) : text.slice(0, i) + ins + text.slice(i + (len % 6));
        const r = check(t);
        wellFormed(r.issues);
        if (r.config === undefined && r.issues.length === 0) throw new Error('no config and no issue');
      }),
      { numRuns: 10_000 },
    );
  });

  for (const b of listBoards()) {
    it(`1,000 random mutations of board ${b.id}: only issues, a board iff no errors`, SLOW, () => {
      const base = boardToJson(b);
      fc.assert(
        fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (muts) => {
          const r = checkBoardText(JSON.stringify(mutate(base, muts)), b.file);
          wellFormed(r.issues);
          if ((r.board === undefined) !== r.issues.some((i) => i.severity === 'error')) throw new Error('board returned despite errors (or withheld without)');
        }),
        { numRuns: 1_000 },
      );
    });
  }
});
