// Named registers (EdgeX-style device resources) and reusable device profiles: one register map
// per device model, referenced by name from any number of Modbus units.

import { childPath } from '../lib/json-path.js';
import type { IssueLog } from './issues.js';
import type { Node } from './node.js';
import { isBitTable, MAX_ADDRESS, MAX_READ_BITS, MAX_READ_REGISTERS } from '../ports/modbus/vocabulary.js';
import { spanOf, TABLES, VALUE_TYPES, widthOf, type DeviceProfile, type RegisterSpec, type Table, type ValueType } from './types.js';

const REGISTER_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
export const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const MIN_POLL_MS = 10;
const MAX_POLL_MS = 86_400_000;

const REGISTER_KEYS = ['name', 'table', 'address', 'count', 'type', 'scale', 'offset', 'unit', 'byte_order', 'word_order', 'poll_interval_ms', 'description'];

export function pollInterval(n: Node): number {
  return n.int(MIN_POLL_MS, MAX_POLL_MS, `a poll interval in ms, ${MIN_POLL_MS}..${MAX_POLL_MS}`);
}

function parseRegister(n: Node): RegisterSpec {
  const o = n.obj(REGISTER_KEYS, 'a register object {"name", "table", "address", ...}');
  const name = o.req('name').text({ pattern: REGISTER_NAME, max: 64, what: 'a register name such as temperature (letters, digits, _ . -)' });
  const table: Table = o.req('table').choice(TABLES);
  const bits = isBitTable(table);
  const typeNode = o.req('type');
  let type: ValueType = bits ? 'bool' : 'uint16';
  if (typeNode.present) {
    type = typeNode.choice(VALUE_TYPES);
    if (bits && type !== 'bool') type = typeNode.bad(`bool (${table} hold single bits)`, `use "type": "bool", or move the value to the holding or input table`, 'bool');
    else if (!bits && type === 'bool') type = typeNode.bad(`one of int16|uint16|int32|uint32|float32 (${table} registers hold 16-bit words)`, 'use uint16 for a flag kept in a register; bool is for coils and discrete inputs', 'uint16');
  }
  const max = bits ? MAX_READ_BITS : Math.floor(MAX_READ_REGISTERS / widthOf(type));
  const count = o.opt('count', (x) => x.int(1, max, `a value count 1..${max} (one read carries at most ${bits ? MAX_READ_BITS + ' bits' : MAX_READ_REGISTERS + ' registers'})`)) ?? 1;
  const addrNode = o.req('address');
  let address = addrNode.int(0, MAX_ADDRESS, `a register address 0..${MAX_ADDRESS} (the 0-based protocol address)`);
  const span = spanOf({ type, count });
  if (address + span - 1 > MAX_ADDRESS) address = addrNode.bad(`an address whose ${span} ${bits ? 'bits' : 'registers'} end by ${MAX_ADDRESS}`, `lower the address to at most ${MAX_ADDRESS + 1 - span}`, 0);
  if (type === 'bool') {
    for (const k of ['scale', 'offset', 'byte_order', 'word_order']) o.notApplicable(k, 'it applies to numeric types only');
  } else if (widthOf(type) === 1) o.notApplicable('word_order', 'it applies to 32-bit types only');
  const scaleNode = o.req('scale');
  let scale = 1;
  if (scaleNode.present) {
    scale = scaleNode.num(-1e12, 1e12, 'a finite, non-zero scale factor');
    if (scale === 0) scale = scaleNode.bad('a finite, non-zero scale factor', 'use 1 for no scaling', 1);
  }
  const offset = o.opt('offset', (x) => x.num(-1e12, 1e12, 'a finite offset')) ?? 0;
  const unit = o.opt('unit', (x) => x.text({ max: 32 }));
  const byteOrder = o.opt('byte_order', (x) => x.choice(['big', 'little'] as const)) ?? 'big';
  const wordOrder = o.opt('word_order', (x) => x.choice(['big', 'little'] as const)) ?? 'big';
  const pollIntervalMs = o.opt('poll_interval_ms', pollInterval);
  const description = o.opt('description', (x) => x.text({ max: 256 }));
  return {
    name,
    table,
    address,
    count,
    type,
    scale,
    offset,
    ...(unit !== undefined ? { unit } : {}),
    byteOrder,
    wordOrder,
    ...(pollIntervalMs !== undefined ? { pollIntervalMs } : {}),
    ...(description !== undefined ? { description } : {}),
  };
}

/** Parses a register list and checks names are unique and no two registers overlap. */
export function parseRegisterMap(n: Node, log: IssueLog): RegisterSpec[] {
  const nodes = n.list(1, 512, 'registers');
  const regs = nodes.map(parseRegister);
  checkRegisterMap(log, nodes.map((x) => x.path), regs);
  return regs;
}

function checkRegisterMap(log: IssueLog, paths: readonly string[], regs: readonly RegisterSpec[]): void {
  const names = new Map<string, number>();
  regs.forEach((r, i) => {
    const first = names.get(r.name);
    if (first !== undefined) log.cross(childPath(paths[i]!, 'name'), { expected: 'each register name once per map', found: `${JSON.stringify(r.name)} again (first at [${first}])`, fix: 'rename one of them' });
    else if (r.name !== '') names.set(r.name, i);
  });
  // Asked once per register, not once per pair: each ask scans every error so far, and a map of
  // 512 registers each with an error (an older config's `writable` key) made the pairs cubic
  // (28 s for two such maps, minutes for more, in every command that loads the config).
  const broken = paths.map((p) => log.hasErrorWithin(p));
  for (let i = 0; i < regs.length; i++) {
    const a = regs[i]!;
    for (let j = 0; j < i; j++) {
      const b = regs[j]!;
      if (a.table !== b.table || broken[j]) continue;
      const aEnd = a.address + spanOf(a) - 1;
      const bEnd = b.address + spanOf(b) - 1;
      if (a.address > bEnd || b.address > aEnd) continue;
      log.cross(paths[i]!, {
        expected: 'registers that do not overlap',
        found: `${a.table} ${a.address}..${aEnd} overlapping ${JSON.stringify(b.name)} (${b.table} ${b.address}..${bEnd}) at [${j}]`,
        fix: 'correct the address or count of one of them (a 32-bit value spans two registers)',
      });
      break;
    }
  }
}

export function parseProfile(name: string, n: Node, log: IssueLog): DeviceProfile {
  const o = n.obj(['manufacturer', 'model', 'description', 'poll_interval_ms', 'registers'], 'a device profile {"registers": [...]}');
  const manufacturer = o.opt('manufacturer', (x) => x.text({ max: 64 }));
  const model = o.opt('model', (x) => x.text({ max: 64 }));
  const description = o.opt('description', (x) => x.text({ max: 256 }));
  const pollIntervalMs = o.opt('poll_interval_ms', pollInterval);
  const registers = parseRegisterMap(o.req('registers'), log);
  return {
    name,
    ...(manufacturer !== undefined ? { manufacturer } : {}),
    ...(model !== undefined ? { model } : {}),
    ...(description !== undefined ? { description } : {}),
    ...(pollIntervalMs !== undefined ? { pollIntervalMs } : {}),
    registers,
  };
}
