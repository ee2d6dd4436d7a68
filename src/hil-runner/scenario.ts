// A `uzpgw hil run` scenario file (docs/HIL.md §Scenarios): steps run in order, each an
// expectation, an operator action, a fault or a wait. Validated like a gateway config, with the
// config's own validator (file, line, field, what was expected, what was found, how to fix it),
// every problem at once. Slot ids are checked against the config the scenario runs with.

import { readFileCapped } from '../files/fsutil.js';
import { utf8Text } from '../files/json.js';
import { CommonCode } from '../lib/errors.js';
import { ConfigError, IssueLog, Node, type GatewayConfig, type Obj } from '../config/index.js';
import { DEVICE_REFUSAL_CODES, REFUSAL_CODES } from '../hil/refusals.js';
import { readJson } from '../lib/strict-json.js';
import { didYouMean } from '../config/suggest.js';
import { checkPurpose, checkSetValue, checkUnitOnSlot } from './scenario-checks.js';
import { stepKeys } from './scenario-keys.js';

export const SCENARIO_KIND = 'uzp-gw/hil-scenario';
const MAX_STEPS = 256;
const MAX_WITHIN_MS = 600_000;
const TABLES = ['holding', 'input', 'coils', 'discrete'] as const;
type Table = (typeof TABLES)[number];
export const DIAG_COUNTERS = ['requests', 'replies', 'timeouts', 'crc_errors', 'exceptions'] as const;
const FAULTS = ['unplug', 'replug', 'noise', 'flip', 'dead-slave', 'slow-slave', 'heal', 'broker-restart', 'rn-kill'] as const;
const ACTIONS = ['modbus.read', 'modbus.write', 'serial.write', 'mqtt.publish', 'mqtt.subscribe'] as const;

/** What an action step expects: success, a refusal by the gateway (its code), or a Modbus exception. */
export type Outcome = { readonly ok: true } | { readonly refused: string } | { readonly exception: number };

export type Action =
  | { readonly do: 'modbus.read'; readonly unit: number; readonly table: Table; readonly address: number; readonly count: number }
  | { readonly do: 'modbus.write'; readonly unit: number; readonly address: number; readonly value: number }
  | { readonly do: 'serial.write'; readonly text: string; readonly echo: boolean }
  | { readonly do: 'mqtt.publish'; readonly topic: string; readonly payload: string }
  | { readonly do: 'mqtt.subscribe'; readonly filter: string };

interface StepBase {
  readonly index: number;
  /** 1-based line of the step in the scenario file. */
  readonly line?: number;
  readonly name?: string;
  /** Not before this many ms after the scenario started. */
  readonly atMs?: number;
}

export type Expectation =
  | { readonly expect: 'readings'; readonly slot: string; readonly min: number; readonly withinMs: number; readonly since?: 'step' | 'start' }
  | { readonly expect: 'values'; readonly slot: string; readonly register?: string; readonly unit?: number; readonly match?: string; readonly min?: number; readonly max?: number; readonly samples: number; readonly withinMs: number }
  | { readonly expect: 'action'; readonly slot: string; readonly action: Action; readonly outcome: Outcome; readonly purposes?: readonly string[] }
  | { readonly expect: 'diagnostics'; readonly slot: string; readonly unit?: number; readonly counter: (typeof DIAG_COUNTERS)[number] | 'state'; readonly min?: number; readonly max?: number; readonly state?: string; readonly withinMs: number; readonly since?: 'step' | 'start' }
  | { readonly expect: 'latency'; readonly slot: string; readonly unit: number; readonly table: Table; readonly address: number; readonly count: number; readonly samples: number; readonly maxRatio: number };

export type Fault =
  | { readonly fault: 'unplug' | 'replug'; readonly slot: string }
  | { readonly fault: 'noise'; readonly slot: string; readonly bytes: number }
  | { readonly fault: 'flip'; readonly slot: string; readonly probability: number }
  | { readonly fault: 'dead-slave'; readonly slot: string; readonly unit: number }
  | { readonly fault: 'slow-slave'; readonly slot: string; readonly unit: number; readonly delayMs: number }
  | { readonly fault: 'heal'; readonly slot: string }
  | { readonly fault: 'broker-restart' }
  | { readonly fault: 'rn-kill' };

/** A scripted value: the register (by its config name) of a unit reads `value` from now on (engineering units). */
export interface SetValue {
  readonly slot: string;
  readonly unit: number;
  readonly register: string;
  readonly value: number;
}

export type Step = StepBase & ({ readonly kind: 'expect'; readonly e: Expectation } | { readonly kind: 'fault'; readonly f: Fault } | { readonly kind: 'set'; readonly v: SetValue } | { readonly kind: 'wait'; readonly ms: number });

export interface Scenario {
  readonly file: string;
  readonly name: string;
  /** Period of the line sensors and MQTT machines, ms. */
  readonly intervalMs: number;
  readonly steps: readonly Step[];
}

const STEP_KEYS = ['name', 'at_ms', 'since', 'expect', 'fault', 'set', 'wait_ms', 'slot', 'min', 'max', 'within_ms', 'register', 'unit', 'match', 'samples', 'do', 'table', 'address', 'count', 'value', 'text', 'echo', 'topic', 'payload', 'filter', 'outcome', 'purposes', 'counter', 'state', 'max_ratio', 'bytes', 'probability', 'delay_ms'];

/** A scenario file's size limit (a scenario is steps, not data). */
const MAX_SCENARIO_FILE = 1024 * 1024;

/** Reads and validates a scenario against `config`; throws ConfigError listing every problem (FILE_* when unreadable). */
export function loadScenario(file: string, config: GatewayConfig): Scenario {
  return parseScenario(utf8Text(readFileCapped(file, MAX_SCENARIO_FILE, 'scenario').bytes, file, CommonCode.USAGE), file, config);
}

export function parseScenario(text: string, file: string, config: GatewayConfig): Scenario {
  const src = readJson(text);
  const log = new IssueLog(file, (p) => src.lines.get(p));
  for (const i of src.issues) log.add(i.path, i);
  const o = Node.root(log, src.value).obj(['kind', 'name', 'interval_ms', 'steps'], 'a scenario object {"kind": "uzp-gw/hil-scenario", "steps": [...]}');
  o.req('kind').choice([SCENARIO_KIND] as const, ' (it tells a scenario from a gateway config)');
  const name = o.opt('name', (x) => x.text({ max: 128 })) ?? file.replace(/^.*\//, '').replace(/\.json$/, '');
  const intervalMs = o.opt('interval_ms', (x) => x.int(50, 60_000, 'the equipment period in ms, 50..60000')) ?? 250;
  const slots = new Map(config.slots.map((s) => [s.id, s]));
  const steps: Step[] = [];
  o.req('steps')
    .list(1, MAX_STEPS, 'steps')
    .forEach((n, index) => {
      const step = parseStep(n, index, slots);
      if (step !== undefined) steps.push({ ...step, ...(src.lines.get(n.path) !== undefined ? { line: src.lines.get(n.path)! } : {}) });
    });
  if (log.errorCount > 0) throw new ConfigError(file, log.issues);
  return { file, name, intervalMs, steps };
}

type SlotMap = ReadonlyMap<string, GatewayConfig['slots'][number]>;

function parseStep(n: Node, index: number, slots: SlotMap): Step | undefined {
  const o = n.obj(STEP_KEYS, 'a step {"expect": ...} | {"fault": ...} | {"set": ...} | {"wait_ms": N}');
  const kinds = ['expect', 'fault', 'set', 'wait_ms'].filter((k) => o.has(k));
  if (kinds.length !== 1) {
    n.bad('exactly one of "expect", "fault", "set" or "wait_ms"', kinds.length === 0 ? 'add "expect", "fault", "set" or "wait_ms"' : `keep one of ${kinds.join(', ')}; put the others in steps of their own`, undefined);
    return undefined;
  }
  // Fields of another kind of step are refused: nothing would read them, and the step would pass.
  const fits = n.value !== null && typeof n.value === 'object' ? stepKeys(n.value as Record<string, unknown>) : undefined;
  if (fits !== undefined) {
    for (const k of Object.keys(n.value as object)) if (STEP_KEYS.includes(k) && !fits.keys.includes(k)) o.notApplicable(k, `${fits.what} takes ${fits.keys.join(', ')}`);
  }
  const name = o.opt('name', (x) => x.text({ max: 128 }));
  const atMs = o.opt('at_ms', (x) => x.int(0, MAX_WITHIN_MS));
  const base = { index, ...(name !== undefined ? { name } : {}), ...(atMs !== undefined ? { atMs } : {}) };
  const slotOf = (what: string): string => {
    const sn = o.req('slot');
    const id = sn.text({ max: 64, what: 'a slot id of the config' });
    if (id !== '' && !slots.has(id)) return sn.bad(`a slot of the config (${[...slots.keys()].join('|')})`, didYouMean(id, [...slots.keys()]) || `use a slot the config has ${what}`, '');
    return id;
  };
  const driverOf = (slot: string): string | undefined => slots.get(slot)?.device.driver;
  const needs = (slot: string, drivers: readonly string[], what: string): void => {
    const d = driverOf(slot);
    if (slot !== '' && d !== undefined && !drivers.includes(d)) o.req('slot').bad(`a ${drivers.join(' or ')} slot for ${what}`, `slot ${slot} is ${d}: pick a slot of that kind, or another step`, undefined);
  };
  const within = (dflt: number): number => o.opt('within_ms', (x) => x.int(1, MAX_WITHIN_MS)) ?? dflt;
  const unitReq = (): number => o.req('unit').int(0, 247, 'a Modbus unit id 0..247');
  /** A unit that must be on the slot's bus (a fault or a measurement acts on its slave). */
  const unitOnSlot = (slot: string): number => {
    const unit = unitReq();
    if (slot !== '') checkUnitOnSlot(o.req('unit'), slot, slots.get(slot), unit);
    return unit;
  };

  if (o.has('wait_ms')) return { ...base, kind: 'wait', ms: o.req('wait_ms').int(0, MAX_WITHIN_MS) };

  if (o.has('set')) {
    const slot = slotOf('with a Modbus bus');
    needs(slot, ['modbus-poller'], 'a scripted register value');
    const unit = unitReq();
    const rn = o.req('set');
    const register = rn.text({ max: 64, what: 'a register name of the unit' });
    const names = slot !== '' ? unitRegisterNames(slots.get(slot)!, unit) : [];
    if (register !== '' && slot !== '' && !names.includes(register)) rn.bad(`a register of unit ${unit} of slot ${slot} (${names.join('|') || 'none'})`, didYouMean(register, names) || 'use a register name the unit has in the config', '');
    const value = o.req('value').num(-Number.MAX_VALUE, Number.MAX_VALUE, 'the value in engineering units (after scale and offset), e.g. 85.5');
    const cfg = slots.get(slot)?.device;
    const def = cfg?.driver === 'modbus-poller' ? cfg.units.find((u) => u.unit === unit)?.registers.find((r) => r.name === register) : undefined;
    if (typeof o.req('value').value === 'number') checkSetValue(o.req('value'), def, value);
    return { ...base, kind: 'set', v: { slot, unit, register, value } };
  }

  if (o.has('fault')) {
    const f = o.req('fault').choice(FAULTS);
    switch (f) {
      case 'broker-restart':
      case 'rn-kill':
        return { ...base, kind: 'fault', f: { fault: f } };
      case 'unplug':
      case 'replug':
      case 'heal': {
        const slot = slotOf('with a serial line');
        needs(slot, ['modbus-poller', 'serial-line', 'serial-raw'], `fault ${f}`);
        return { ...base, kind: 'fault', f: { fault: f, slot } };
      }
      case 'noise': {
        const slot = slotOf('with a serial line');
        needs(slot, ['modbus-poller', 'serial-line', 'serial-raw'], 'fault noise');
        return { ...base, kind: 'fault', f: { fault: f, slot, bytes: o.opt('bytes', (x) => x.int(1, 4096)) ?? 16 } };
      }
      case 'flip': {
        const slot = slotOf('with a serial line');
        needs(slot, ['modbus-poller', 'serial-line', 'serial-raw'], 'fault flip');
        return { ...base, kind: 'fault', f: { fault: f, slot, probability: o.req('probability').num(0, 1, 'a probability 0..1 that a byte toward the gateway has a bit flipped') } };
      }
      case 'dead-slave':
      case 'slow-slave': {
        const slot = slotOf('with a Modbus bus');
        needs(slot, ['modbus-poller'], `fault ${f}`);
        const unit = unitOnSlot(slot);
        if (f === 'dead-slave') return { ...base, kind: 'fault', f: { fault: f, slot, unit } };
        return { ...base, kind: 'fault', f: { fault: f, slot, unit, delayMs: o.req('delay_ms').int(1, 60_000, 'the extra turnaround in ms, 1..60000') } };
      }
    }
  }

  const kind = o.req('expect').choice(['readings', 'values', 'action', 'diagnostics', 'latency'] as const);
  const slot = slotOf('');
  switch (kind) {
    case 'readings':
      needs(slot, ['modbus-poller', 'serial-line', 'mqtt-bridge'], 'readings');
      return { ...base, kind: 'expect', e: { expect: kind, slot, min: o.opt('min', (x) => x.int(1, 1_000_000)) ?? 1, withinMs: within(5000), since: o.opt('since', (x) => x.choice(['step', 'start'] as const, ' (count readings from this step on, or from the start of the run)')) ?? 'step' } };
    case 'values': {
      needs(slot, ['modbus-poller', 'serial-line', 'mqtt-bridge'], 'values');
      // Only a Modbus reading has a register and a unit: on another slot they would filter out every reading.
      const d = driverOf(slot);
      if (d !== undefined && d !== 'modbus-poller') for (const k of ['register', 'unit']) o.notApplicable(k, `slot ${slot} is ${d}; "${k}" picks a Modbus register's values`);
      const register = o.opt('register', (x) => x.text({ max: 64 }));
      const unit = o.opt('unit', (x) => x.int(0, 247));
      const match = o.opt('match', (x) => {
        const s = x.text({ max: 256 });
        try {
          new RegExp(s);
        } catch (e) {
          return x.bad('a JavaScript regular expression', (e as Error).message, '');
        }
        return s;
      });
      const min = o.opt('min', (x) => x.num(-Number.MAX_VALUE, Number.MAX_VALUE));
      const max = o.opt('max', (x) => x.num(-Number.MAX_VALUE, Number.MAX_VALUE));
      if (min === undefined && max === undefined && match === undefined) o.node.bad('"min", "max" or "match"', 'say what the values must be: a range ("min"/"max") or a pattern ("match")', undefined);
      if (driverOf(slot) === 'modbus-poller' && register !== undefined && !registerNames(slots.get(slot)!).includes(register)) {
        o.req('register').bad(`a register of slot ${slot} (${registerNames(slots.get(slot)!).join('|')})`, didYouMean(register, registerNames(slots.get(slot)!)) || 'use a register name of the slot\'s units', '');
      }
      return { ...base, kind: 'expect', e: { expect: kind, slot, samples: o.opt('samples', (x) => x.int(1, 10_000)) ?? 3, withinMs: within(5000), ...opt({ register, unit, match, min, max }) } };
    }
    case 'action': {
      const action = parseAction(o, slot, driverOf(slot), unitReq);
      const outcome = parseOutcome(o.req('outcome'));
      const purposes = o.opt('purposes', (x) =>
        x.list(0, 16, 'purposes').map((p) => {
          const spec = p.text({ max: 256, what: 'a purpose as `pantheon grant --purpose` writes it, e.g. modbus.read:units=1' });
          checkPurpose(p, spec);
          return spec;
        }),
      );
      return { ...base, kind: 'expect', e: { expect: kind, slot, action, outcome, ...(purposes !== undefined ? { purposes } : {}) } };
    }
    case 'diagnostics': {
      needs(slot, ['modbus-poller'], 'diagnostics');
      const counter = o.req('counter').choice([...DIAG_COUNTERS, 'state'] as const);
      const state = counter === 'state' ? o.req('state').choice(['unknown', 'ok', 'timeout', 'error'] as const) : undefined;
      const min = o.opt('min', (x) => x.int(0, Number.MAX_SAFE_INTEGER));
      const max = o.opt('max', (x) => x.int(0, Number.MAX_SAFE_INTEGER));
      if (counter !== 'state' && min === undefined && max === undefined) o.node.bad('"min" or "max"', `say how many ${counter} are expected`, undefined);
      const unit = o.opt('unit', (x) => x.int(0, 247));
      const since = o.opt('since', (x) => x.choice(['step', 'start'] as const, ' (count from this step on, or the gateway\'s totals since it started)'));
      return { ...base, kind: 'expect', e: { expect: kind, slot, counter, withinMs: within(5000), ...opt({ unit, min, max, state, since }) } };
    }
    case 'latency': {
      needs(slot, ['modbus-poller'], 'latency');
      const unit = unitOnSlot(slot);
      return {
        ...base,
        kind: 'expect',
        e: {
          expect: kind,
          slot,
          unit,
          table: o.opt('table', (x) => x.choice(TABLES)) ?? 'holding',
          address: o.opt('address', (x) => x.int(0, 65_535)) ?? 0,
          count: o.opt('count', (x) => x.int(1, 125)) ?? 1,
          samples: o.opt('samples', (x) => x.int(1, 1000)) ?? 20,
          maxRatio: o.req('max_ratio').num(1, 1000, 'the highest median round trip as a multiple of the spec transaction time, e.g. 3'),
        },
      };
    }
  }
}

function parseAction(o: Obj, slot: string, driver: string | undefined, unitReq: () => number): Action {
  const d = o.req('do').choice(ACTIONS);
  const family = d.slice(0, d.indexOf('.'));
  const want = family === 'modbus' ? 'modbus-poller' : family === 'serial' ? 'serial-raw' : 'mqtt-bridge';
  const fits = driver === undefined || driver === want || (family === 'serial' && driver === 'serial-line');
  if (slot !== '' && !fits) o.req('do').bad(`an action for a ${driver} slot`, `slot ${slot} is ${driver}: ${d} needs a ${want} slot`, undefined);
  switch (d) {
    case 'modbus.read':
      return { do: d, unit: unitReq(), table: o.opt('table', (x) => x.choice(TABLES)) ?? 'holding', address: o.opt('address', (x) => x.int(0, 65_535)) ?? 0, count: o.opt('count', (x) => x.int(1, 125)) ?? 1 };
    case 'modbus.write':
      return { do: d, unit: unitReq(), address: o.req('address').int(0, 65_535), value: o.req('value').int(0, 65_535, 'a register value 0..65535') };
    case 'serial.write':
      return { do: d, text: o.req('text').text({ max: 4096 }), echo: o.opt('echo', (x) => x.bool()) ?? false };
    case 'mqtt.publish':
      return { do: d, topic: o.req('topic').text({ max: 256 }), payload: o.opt('payload', (x) => x.text({ min: 0, max: 65_536 })) ?? '' };
    case 'mqtt.subscribe':
      return { do: d, filter: o.req('filter').text({ max: 256 }) };
  }
}

function parseOutcome(n: Node): Outcome {
  const s = n.text({ max: 64, what: '"ok", a refusal code such as PURPOSE_NOT_GRANTED, or "exception:N"' });
  if (s === 'ok') return { ok: true };
  const ex = /^exception:(\d{1,3})$/.exec(s);
  if (ex !== null && Number(ex[1]) >= 1 && Number(ex[1]) <= 255) return { exception: Number(ex[1]) };
  const codes: readonly string[] = [...REFUSAL_CODES, ...DEVICE_REFUSAL_CODES];
  if (codes.includes(s)) return { refused: s };
  if (s !== '') n.bad('"ok", "exception:N" (N 1..255) or a refusal code', didYouMean(s, ['ok', ...codes]) || `refusal codes: ${codes.join(', ')}`, undefined);
  return { ok: true };
}

function unitRegisterNames(s: GatewayConfig['slots'][number], unit: number): string[] {
  const d = s.device;
  return d.driver === 'modbus-poller' ? (d.units.find((u) => u.unit === unit)?.registers.map((r) => r.name) ?? []) : [];
}

function registerNames(s: GatewayConfig['slots'][number]): string[] {
  const d = s.device;
  return d.driver === 'modbus-poller' ? [...new Set(d.units.flatMap((u) => u.registers.map((r) => r.name)))] : [];
}

/** The defined entries of `o` (optional fields stay absent, never `undefined`). */
function opt<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}
