// Poll plans against a model: executing the merged plan on a simulated register memory and
// splitting the answers must give exactly what reading each spec on its own gives; merged spans
// stay within the per-request limit, never bridge a gap, and only same-unit/same-table reads merge.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { planReads, splitRead, type ReadSpec } from '../../../src/ports/modbus/plan.js';
import { maxReadCount, type Table } from '../../../src/ports/modbus/vocabulary.js';
import { codeOf } from '../../helpers/errors.js';
import { CommonCode } from '../../../src/lib/errors.js';

/** Deterministic "memory" of a slave: any function of (unit, table, address) will do. */
function cell(unit: number, table: Table, addr: number): number {
  return (unit * 7919 + table.length * 104729 + addr * 31) & 0xffff;
}

const spec: fc.Arbitrary<ReadSpec> = fc
  .record({ unit: fc.integer({ min: 1, max: 3 }), table: fc.constantFrom<Table>('coils', 'discrete', 'holding', 'input'), addr: fc.integer({ min: 0, max: 400 }), count: fc.integer({ min: 1, max: 125 }) })
  .map((s) => s);

function covered(specs: readonly ReadSpec[], unit: number, table: Table, a: number): boolean {
  return specs.some((s) => s.unit === unit && s.table === table && a >= s.addr && a < s.addr + s.count);
}

describe('planReads', () => {
  it('merged reads split back into exactly what each read asked for', () => {
    fc.assert(
      fc.property(fc.array(spec, { maxLength: 30 }), fc.integer({ min: 1, max: 125 }), (specs, maxRegisters) => {
        const limited = specs.filter((s) => s.count <= (s.table === 'holding' || s.table === 'input' ? maxRegisters : maxReadCount(s.table)));
        const plan = planReads(limited, { maxRegisters });
        const got = new Array<number[] | undefined>(limited.length);
        for (const p of plan) {
          const limit = p.table === 'holding' || p.table === 'input' ? maxRegisters : maxReadCount(p.table);
          expect(p.count).toBeLessThanOrEqual(limit);
          const memory = Array.from({ length: p.count }, (_, i) => cell(p.unit, p.table, p.addr + i));
          for (const part of splitRead(p, memory)) {
            expect(got[part.index]).toBeUndefined(); // each read answered by exactly one request
            expect(limited[part.index]!.unit).toBe(p.unit);
            expect(limited[part.index]!.table).toBe(p.table);
            got[part.index] = part.values;
          }
          // No gap bridged: every address of the merged span was asked for by some read.
          for (let a = p.addr; a < p.addr + p.count; a++) expect(covered(limited, p.unit, p.table, a)).toBe(true);
        }
        limited.forEach((s, i) => expect(got[i]).toEqual(Array.from({ length: s.count }, (_, k) => cell(s.unit, s.table, s.addr + k))));
        expect(plan.length).toBeLessThanOrEqual(limited.length);
      }),
      { numRuns: 2000 },
    );
  });

  it('merges adjacent and overlapping reads and keeps gaps apart', () => {
    const plan = planReads([
      { unit: 1, table: 'holding', addr: 0, count: 10 },
      { unit: 1, table: 'holding', addr: 10, count: 10 }, // adjacent
      { unit: 1, table: 'holding', addr: 15, count: 2 }, // inside
      { unit: 1, table: 'holding', addr: 21, count: 1 }, // gap of one
      { unit: 2, table: 'holding', addr: 0, count: 10 }, // other unit
      { unit: 1, table: 'input', addr: 0, count: 10 }, // other table
    ]);
    expect(plan.map((p) => [p.unit, p.table, p.addr, p.count, p.parts.map((x) => [x.index, x.offset])])).toEqual([
      [1, 'holding', 0, 20, [[0, 0], [1, 10], [2, 15]]],
      [1, 'holding', 21, 1, [[3, 0]]],
      [2, 'holding', 0, 10, [[4, 0]]],
      [1, 'input', 0, 10, [[5, 0]]],
    ]);
  });

  it('splits at the 125-register limit', () => {
    const specs = Array.from({ length: 30 }, (_, i) => ({ unit: 1, table: 'holding' as const, addr: i * 10, count: 10 }));
    const plan = planReads(specs);
    expect(plan.map((p) => [p.addr, p.count])).toEqual([
      [0, 120],
      [120, 120],
      [240, 60],
    ]);
  });

  it('refuses a read no single request can carry', () => {
    expect(codeOf(() => planReads([{ unit: 1, table: 'holding', addr: 0, count: 126 }]))).toBe(CommonCode.USAGE);
    expect(codeOf(() => planReads([{ unit: 1, table: 'coils', addr: 65535, count: 2 }]))).toBe(CommonCode.USAGE);
  });
});
