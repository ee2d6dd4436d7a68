// Poll plans: merging the reads a device profile asks for into as few requests as the protocol
// allows, and splitting the answers back. On a 9600-baud line each request costs a turnaround
// plus ~40 ms of framing overhead, so reading registers 0-9 and 10-19 as one request of 20 is
// nearly twice as fast as two requests.
//
// Rules: reads merge only when they have the same unit and table and their ranges overlap or
// touch (no gap is bridged: reading an unmapped register may draw an illegal-data-address
// exception and fail every read merged with it), and the merged span stays within one request's
// limit (§6.1-6.4: 125 registers, 2000 bits). Pure and synchronous; the bus executes the plan.

import { isBitTable, MAX_ADDRESS, maxReadCount, type Table } from './vocabulary.js';
import { CommonCode, LocalError } from '../../lib/errors.js';

export interface ReadSpec {
  readonly unit: number;
  readonly table: Table;
  readonly addr: number;
  readonly count: number;
}

/** One request of a plan and which caller reads it answers. */
interface PlannedRead extends ReadSpec {
  /** index: position in the specs given to planReads; offset: where that read starts in this one. */
  readonly parts: readonly { readonly index: number; readonly offset: number; readonly count: number }[];
}

export interface PlanLimits {
  readonly maxRegisters?: number;
  readonly maxBits?: number;
}

function limitFor(table: Table, limits: PlanLimits): number {
  const max = maxReadCount(table);
  const l = isBitTable(table) ? limits.maxBits : limits.maxRegisters;
  return l === undefined ? max : Math.max(1, Math.min(max, l));
}

/**
 * Groups by (unit, table) in order of first appearance, sorts each group by address and merges
 * greedily. Throws LocalError(USAGE) for a read that no single request can carry.
 */
export function planReads(specs: readonly ReadSpec[], limits: PlanLimits = {}): PlannedRead[] {
  const groups = new Map<string, number[]>();
  specs.forEach((s, i) => {
    const limit = limitFor(s.table, limits);
    if (!Number.isInteger(s.addr) || s.addr < 0 || !Number.isInteger(s.count) || s.count < 1 || s.count > limit || s.addr + s.count > MAX_ADDRESS + 1) {
      throw new LocalError(CommonCode.USAGE, `read ${i} (unit ${s.unit} ${s.table} ${s.addr}+${s.count}): count must be 1..${limit} and the range within 0..65535`);
    }
    const key = `${s.unit}/${s.table}`;
    const g = groups.get(key);
    if (g) g.push(i);
    else groups.set(key, [i]);
  });
  const out: PlannedRead[] = [];
  for (const idx of groups.values()) {
    idx.sort((a, b) => specs[a]!.addr - specs[b]!.addr || a - b);
    const first = specs[idx[0]!]!;
    const limit = limitFor(first.table, limits);
    let start = first.addr;
    let end = first.addr + first.count;
    let members: number[] = [idx[0]!];
    const flush = (): void => {
      out.push({ unit: first.unit, table: first.table, addr: start, count: end - start, parts: members.map((i) => ({ index: i, offset: specs[i]!.addr - start, count: specs[i]!.count })) });
    };
    for (const i of idx.slice(1)) {
      const s = specs[i]!;
      const newEnd = Math.max(end, s.addr + s.count);
      if (s.addr <= end && newEnd - start <= limit) {
        end = newEnd;
        members.push(i);
      } else {
        flush();
        start = s.addr;
        end = s.addr + s.count;
        members = [i];
      }
    }
    flush();
  }
  return out;
}

/** The values each part of `plan` asked for, from the merged read's values. */
export function splitRead(plan: PlannedRead, values: readonly number[]): { index: number; values: number[] }[] {
  return plan.parts.map((p) => ({ index: p.index, values: values.slice(p.offset, p.offset + p.count) }));
}
