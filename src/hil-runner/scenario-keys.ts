// The fields each kind of scenario step takes (docs/HIL.md §Scenarios). The step object's key
// list is one for every kind (it catches typos); this says which of those keys a given kind uses,
// so a field that belongs to another kind ("max" on a readings expectation, "table" on a
// modbus.write) is refused instead of being read by nobody while the step passes.

const COMMON = ['name', 'at_ms'];

const EXPECT: Readonly<Record<string, readonly string[]>> = {
  readings: ['slot', 'min', 'within_ms', 'since'],
  values: ['slot', 'register', 'unit', 'match', 'min', 'max', 'samples', 'within_ms'],
  action: ['slot', 'do', 'outcome', 'purposes'],
  diagnostics: ['slot', 'unit', 'counter', 'within_ms'],
  latency: ['slot', 'unit', 'table', 'address', 'count', 'samples', 'max_ratio'],
};

const ACTION: Readonly<Record<string, readonly string[]>> = {
  'modbus.read': ['unit', 'table', 'address', 'count'],
  // Function 6, Write Single Register: a holding register, so no "table".
  'modbus.write': ['unit', 'address', 'value'],
  'serial.write': ['text', 'echo'],
  'mqtt.publish': ['topic', 'payload'],
  'mqtt.subscribe': ['filter'],
};

const FAULT: Readonly<Record<string, readonly string[]>> = {
  unplug: ['slot'],
  replug: ['slot'],
  heal: ['slot'],
  noise: ['slot', 'bytes'],
  flip: ['slot', 'probability'],
  'dead-slave': ['slot', 'unit'],
  'slow-slave': ['slot', 'unit', 'delay_ms'],
  'broker-restart': [],
  'rn-kill': [],
};

/**
 * The keys a step `raw` may have, judged by its kind (and its `do`, `fault` or `counter`), and how
 * to name that kind in a message; undefined when the kind itself is unknown (reported elsewhere).
 */
export function stepKeys(raw: Readonly<Record<string, unknown>>): { readonly keys: readonly string[]; readonly what: string } | undefined {
  const str = (k: string): string | undefined => (typeof raw[k] === 'string' ? (raw[k] as string) : undefined);
  if ('wait_ms' in raw) return { keys: [...COMMON, 'wait_ms'], what: 'a wait' };
  if ('set' in raw) return { keys: [...COMMON, 'set', 'slot', 'unit', 'value'], what: 'a scripted value' };
  if ('fault' in raw) {
    const f = FAULT[str('fault') ?? ''];
    return f === undefined ? undefined : { keys: [...COMMON, 'fault', ...f], what: `fault ${str('fault')}` };
  }
  const kind = str('expect') ?? '';
  const e = EXPECT[kind];
  if (e === undefined) return undefined;
  if (kind === 'action') {
    const a = ACTION[str('do') ?? ''];
    return a === undefined ? undefined : { keys: [...COMMON, 'expect', ...e, ...a], what: `a ${str('do')} action` };
  }
  if (kind === 'diagnostics') {
    // A state is compared, a counter is counted: each takes its own fields.
    const extra = raw.counter === 'state' ? ['state'] : ['min', 'max', 'since'];
    return { keys: [...COMMON, 'expect', ...e, ...extra], what: raw.counter === 'state' ? 'a diagnostics state expectation' : 'a diagnostics counter expectation' };
  }
  return { keys: [...COMMON, 'expect', ...e], what: `a ${kind} expectation` };
}
