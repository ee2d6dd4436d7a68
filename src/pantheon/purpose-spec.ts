// Purpose SPEC grammar of `pantheon grant --purpose` (one purpose per flag):
//   spec   = name *( ":" param )
//   param  = "units=" uint8 *( "," uint8 )            Modbus unit ids      (modbus.* only)
//          / "tables=" table *( "," table )           Modbus tables        (modbus.* only; default holding)
//          / "regs="  range *( "," range )            address ranges       (modbus.* only)
//          / "topics=" filter *( "," filter )         MQTT topic filters   (mqtt.* only)
//   table  = "holding" / "input" / "coils" / "discrete"
//   range  = uint16 [ "-" uint16 ]                     inclusive, first <= last
// e.g. serial.read, modbus.write:units=1,2:tables=holding:regs=0-99,200-210, mqtt.subscribe:topics=plant/+/temp,alarms/#
// Besides the HIL purposes, `telemetry.publish` (no parameters) lets a gateway publish readings to a
// collector (outbound indexing draft §11.3); it is no HIL purpose (src/hil/purposes.ts PUBLISH_PURPOSE).
// The name must be one the gateway knows (src/hil/purposes.ts): a typo is refused with the closest
// name, never issued. A parameter starts only at ":units=", ":tables=", ":regs=" or ":topics=", so
// topic filters may contain ':' (but not ','). Units are sorted and de-duplicated; ranges keep the
// order given. A modbus purpose without tables= is written with tables=holding, so the Grant says
// what it covers.

import { didYouMean } from '../config/suggest.js';
import { isHilPurpose, PUBLISH_PURPOSE, PURPOSES, purposeFamily } from '../hil/purposes.js';
import { isModbusTable, MODBUS_TABLES, type ModbusTable } from '../lib/modbus-tables.js';
import { isTopicFilter } from '../lib/mqtt-topics.js';
import type { Purpose } from '../uzp/artefacts/types.js';
import { CommonCode, LocalError } from '../lib/errors.js';

function usage(spec: string, why: string): LocalError {
  return new LocalError(CommonCode.USAGE, `--purpose ${JSON.stringify(spec)}: ${why}`);
}

function uintIn(s: string, max: number, spec: string, what: string): number {
  if (!/^\d{1,5}$/.test(s) || Number(s) > max) throw usage(spec, `${what} ${JSON.stringify(s)} is not a whole number 0..${max}`);
  return Number(s);
}

/** Every name `--purpose` accepts. */
const KNOWN: readonly string[] = [...PURPOSES, PUBLISH_PURPOSE];

export function parsePurposeSpec(spec: string): Purpose {
  const [name, ...params] = spec.split(/:(?=(?:units|tables|regs|topics)=)/);
  if (name === PUBLISH_PURPOSE) {
    if (params.length > 0) throw usage(spec, `${PUBLISH_PURPOSE} takes no parameters (the Grant's --slot flags say which readings)`);
    return { purpose: PUBLISH_PURPOSE };
  }
  if (name === undefined || !isHilPurpose(name)) {
    const hint = name !== undefined ? didYouMean(name, KNOWN) : '';
    throw usage(spec, `${JSON.stringify((name ?? '').slice(0, 64))} is not a purpose the gateway knows; ${hint !== '' ? `${hint} ` : ''}purposes: ${KNOWN.join(', ')}`);
  }
  const family = purposeFamily(name);
  const out: { -readonly [K in keyof Purpose]: Purpose[K] } = { purpose: name };
  for (const p of params) {
    const eq = p.indexOf('=');
    const key = p.slice(0, eq);
    const items = p.slice(eq + 1).split(',');
    if (items.some((i) => i === '')) throw usage(spec, `empty item in ${key}=`);
    if (key === 'units' || key === 'regs' || key === 'tables') {
      if (family !== 'modbus') throw usage(spec, `${key}= applies to modbus.* purposes only`);
    } else if (family !== 'mqtt') throw usage(spec, 'topics= applies to mqtt.* purposes only');
    const field = ({ regs: 'registers', units: 'units', tables: 'tables', topics: 'topics' } as const)[key as 'regs' | 'units' | 'tables' | 'topics'];
    if (out[field] !== undefined) throw usage(spec, `${key}= given twice`);
    if (key === 'units') out.units = [...new Set(items.map((u) => uintIn(u, 255, spec, 'unit id')))].sort((a, b) => a - b);
    else if (key === 'tables') {
      const tables: ModbusTable[] = [];
      for (const t of items) {
        if (!isModbusTable(t)) throw usage(spec, `table ${JSON.stringify(t.slice(0, 20))} is not one of ${MODBUS_TABLES.join(', ')}; ${didYouMean(t, MODBUS_TABLES)}`.replace(/; $/, ''));
        if (!tables.includes(t)) tables.push(t);
      }
      out.tables = tables;
    } else if (key === 'regs') {
      out.registers = items.map((r) => {
        const [a, b, extra] = r.split('-');
        if (extra !== undefined) throw usage(spec, `register range ${JSON.stringify(r)} is not N or N-M`);
        const first = uintIn(a!, 0xffff, spec, 'register');
        const last = b === undefined ? first : uintIn(b, 0xffff, spec, 'register');
        if (first > last) throw usage(spec, `register range ${r}: first is above last`);
        return [first, last] as const;
      });
    } else {
      for (const t of items) if (t.length > 256 || !isTopicFilter(t)) throw usage(spec, `${JSON.stringify(t)} is not an MQTT topic filter`);
      out.topics = items;
    }
  }
  // Say what a modbus purpose covers, rather than leave it to the default.
  if (family === 'modbus' && out.tables === undefined) out.tables = ['holding'];
  return out;
}

// The display form (formatPurpose, the inverse of parsePurposeSpec) lives with the purposes in
// src/hil/purposes.ts, so the operator's explanations print Grants the way pantheon writes them.
export { formatPurpose } from '../hil/purposes.js';
