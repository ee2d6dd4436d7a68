// Purpose SPEC grammar of `pantheon grant --purpose` (one purpose per flag):
//   spec   = name *( ":" param )
//   param  = "units=" uint8 *( "," uint8 )            Modbus unit ids      (modbus.* only)
//          / "regs="  range *( "," range )            register ranges      (modbus.* only)
//          / "topics=" filter *( "," filter )         MQTT topic filters   (mqtt.* only)
//   range  = uint16 [ "-" uint16 ]                     inclusive, first <= last
// e.g. serial.read, modbus.write:units=1,2:regs=0-99,200-210, mqtt.subscribe:topics=plant/+/temp,alarms/#
// A parameter starts only at ":units=", ":regs=" or ":topics=", so topic filters may contain ':'
// (but not ','). Units are sorted and de-duplicated; ranges keep the order given.

import { isTopicFilter } from '../lib/mqtt-topics.js';
import { PURPOSE_PATTERN } from '../uzp/artefacts/grant.js';
import type { Purpose } from '../uzp/artefacts/types.js';
import { CommonCode, LocalError } from '../lib/errors.js';

function usage(spec: string, why: string): LocalError {
  return new LocalError(CommonCode.USAGE, `--purpose ${JSON.stringify(spec)}: ${why}`);
}

function uintIn(s: string, max: number, spec: string, what: string): number {
  if (!/^\d{1,5}$/.test(s) || Number(s) > max) throw usage(spec, `${what} ${JSON.stringify(s)} is not a whole number 0..${max}`);
  return Number(s);
}

export function parsePurposeSpec(spec: string): Purpose {
  const [name, ...params] = spec.split(/:(?=(?:units|regs|topics)=)/);
  if (name === undefined || name.length > 64 || !PURPOSE_PATTERN.test(name)) {
    throw usage(spec, 'a purpose starts with a dotted lowercase name such as serial.read or modbus.write');
  }
  const out: { -readonly [K in keyof Purpose]: Purpose[K] } = { purpose: name };
  for (const p of params) {
    const eq = p.indexOf('=');
    const key = p.slice(0, eq);
    const items = p.slice(eq + 1).split(',');
    if (items.some((i) => i === '')) throw usage(spec, `empty item in ${key}=`);
    if (key === 'units' || key === 'regs') {
      if (!name.startsWith('modbus.')) throw usage(spec, `${key}= applies to modbus.* purposes only`);
    } else if (!name.startsWith('mqtt.')) throw usage(spec, 'topics= applies to mqtt.* purposes only');
    if (out[key === 'regs' ? 'registers' : key === 'units' ? 'units' : 'topics'] !== undefined) throw usage(spec, `${key}= given twice`);
    if (key === 'units') out.units = [...new Set(items.map((u) => uintIn(u, 255, spec, 'unit id')))].sort((a, b) => a - b);
    else if (key === 'regs') {
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
  return out;
}

/** The inverse of parsePurposeSpec (for display); parsePurposeSpec(formatPurpose(p)) equals p. */
export function formatPurpose(p: Purpose): string {
  let s = p.purpose;
  if (p.units !== undefined) s += `:units=${p.units.join(',')}`;
  if (p.registers !== undefined) s += `:regs=${p.registers.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',')}`;
  if (p.topics !== undefined) s += `:topics=${p.topics.join(',')}`;
  return s;
}
