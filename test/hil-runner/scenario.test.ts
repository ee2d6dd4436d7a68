// The `uzpgw hil run` scenario check (src/hil-runner/scenario.ts): every step kind parses to what
// the runner acts on; each mistake is one issue with its line, field and a fix; and no input of
// any shape gets anything but a scenario or a ConfigError (fast-check, junk text).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadGatewayConfig } from '../../src/config/index.js';
import { parseScenario } from '../../src/hil-runner/scenario.js';

const config = loadGatewayConfig('docs/examples/hil/virtual/gateway.json', { checkFiles: false });
const parse = (v: unknown): ReturnType<typeof parseScenario> => parseScenario(typeof v === 'string' ? v : JSON.stringify(v, null, 2), 's.json', config);
const scenario = (steps: unknown[], extra: object = {}): object => ({ kind: 'uzp-gw/hil-scenario', steps, ...extra });

function issues(v: unknown): string[] {
  try {
    parse(v);
  } catch (e) {
    if (e instanceof ConfigError) return e.message.split('\n').slice(1).map((l) => l.trim());
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('scenario file', () => {
  it('parses every step kind with its defaults', () => {
    const s = parse(
      scenario(
        [
          { expect: 'readings', slot: 'rs485-1' },
          { expect: 'readings', slot: 'tty-1', min: 2, since: 'start', within_ms: 10 },
          { expect: 'values', slot: 'tty-1', match: '^T=' },
          { expect: 'action', slot: 'rs485-1', do: 'modbus.read', unit: 1, outcome: 'exception:2' },
          { expect: 'action', slot: 'net-1', do: 'mqtt.publish', topic: 'a/b', outcome: 'TOPIC_NOT_BRIDGED', purposes: ['mqtt.publish'] },
          { expect: 'diagnostics', slot: 'rs485-1', counter: 'state', state: 'ok' },
          { expect: 'latency', slot: 'rs485-1', unit: 7, max_ratio: 3 },
          { fault: 'slow-slave', slot: 'rs485-1', unit: 7, delay_ms: 50, at_ms: 100, name: 'slow meter' },
          { fault: 'rn-kill' },
          { wait_ms: 10 },
          { set: 'power', slot: 'rs485-1', unit: 7, value: 1500.5 },
        ],
        { name: 'all', interval_ms: 100 },
      ),
    );
    expect(s.name).toBe('all');
    expect(s.intervalMs).toBe(100);
    expect(s.steps.map((x) => x.kind)).toEqual(['expect', 'expect', 'expect', 'expect', 'expect', 'expect', 'expect', 'fault', 'fault', 'wait', 'set']);
    expect(s.steps[10]).toMatchObject({ v: { slot: 'rs485-1', unit: 7, register: 'power', value: 1500.5 } });
    expect(s.steps[0]).toMatchObject({ index: 0, line: 4, e: { expect: 'readings', slot: 'rs485-1', min: 1, withinMs: 5000, since: 'step' } });
    expect(s.steps[1]).toMatchObject({ e: { expect: 'readings', slot: 'tty-1', min: 2, withinMs: 10, since: 'start' } });
    const rest = s.steps.filter((_, i) => i !== 1);
    expect(rest[2]).toMatchObject({ e: { action: { do: 'modbus.read', unit: 1, table: 'holding', address: 0, count: 1 }, outcome: { exception: 2 } } });
    expect(rest[3]).toMatchObject({ e: { outcome: { refused: 'TOPIC_NOT_BRIDGED' }, purposes: ['mqtt.publish'] } });
    expect(rest[5]).toMatchObject({ e: { expect: 'latency', unit: 7, table: 'holding', count: 1, samples: 20, maxRatio: 3 } });
    expect(rest[6]).toMatchObject({ name: 'slow meter', atMs: 100, f: { fault: 'slow-slave', unit: 7, delayMs: 50 } });
  });

  it('names each mistake with its line, field and a fix, all at once', () => {
    const got = issues(
      scenario([
        { expect: 'readings', slot: 'rs485-9' },
        { expect: 'values', slot: 'rs485-1', register: 'temprature', min: 0 },
        { expect: 'values', slot: 'tty-1' },
        { expect: 'action', slot: 'tty-1', do: 'modbus.read', unit: 1, outcome: 'PURPOSE_NOT_GRANTD' },
        { expect: 'latency', slot: 'tty-2', unit: 1, max_ratio: 3 },
        { fault: 'dead-slave', slot: 'rs485-1' },
        { fault: 'unplug', expect: 'readings', slot: 'tty-1' },
        { expect: 'values', slot: 'tty-1', match: '(' },
        { wait_ms: 10, colour: 'red' },
        { set: 'temperature', slot: 'rs485-1', unit: 7, value: 1 },
      ]),
    );
    expect(got).toEqual([
      expect.stringMatching(/^s\.json:6: steps\[0\]\.slot: expected a slot of the config .*got "rs485-9"; did you mean rs485-1\?/),
      expect.stringMatching(/^s\.json:\d+: steps\[1\]\.register: expected a register of slot rs485-1 .*got "temprature"; did you mean temperature\?/),
      expect.stringMatching(/^s\.json:\d+: steps\[2\]: expected "min", "max" or "match"/),
      expect.stringMatching(/^s\.json:\d+: steps\[3\]\.do: expected an action for a serial-line slot.*modbus\.read needs a modbus-poller slot/),
      expect.stringMatching(/^s\.json:\d+: steps\[3\]\.outcome: .*did you mean PURPOSE_NOT_GRANTED\?/),
      expect.stringMatching(/^s\.json:\d+: steps\[4\]\.slot: expected a modbus-poller slot for latency/),
      expect.stringMatching(/^s\.json:\d+: steps\[5\]\.unit: .*add "unit"/),
      expect.stringMatching(/^s\.json:\d+: steps\[6\]: expected exactly one of "expect", "fault", "set" or "wait_ms".*keep one of expect, fault/),
      expect.stringMatching(/^s\.json:\d+: steps\[7\]\.match: expected a JavaScript regular expression/),
      expect.stringMatching(/^s\.json:\d+: steps\[8\]\.colour: /),
      expect.stringMatching(/^s\.json:\d+: steps\[9\]\.set: expected a register of unit 7 of slot rs485-1 \(energy\|power\), got "temperature"/),
    ]);
  });

  it('refuses a field that belongs to another kind of step, naming it and what the step takes', () => {
    expect(
      issues(
        scenario([
          { expect: 'readings', slot: 'rs485-1', max: 2, within_ms: 2000 },
          { expect: 'action', slot: 'rs485-1', do: 'modbus.write', table: 'coils', unit: 1, address: 0, value: 1, outcome: 'ok' },
          { expect: 'diagnostics', slot: 'rs485-1', counter: 'state', state: 'ok', min: 1 },
          { fault: 'rn-kill', slot: 'rs485-1' },
          { wait_ms: 10, slot: 'tty-1' },
          { expect: 'action', slot: 'tty-2', do: 'serial.write', text: 'x', payload: 'y', outcome: 'ok' },
        ]),
      ),
    ).toEqual([
      expect.stringMatching(/^s\.json:\d+: steps\[0\]\.max: expected no "max" here \(a readings expectation takes name, at_ms, expect, slot, min, within_ms, since\).*remove "max"/),
      expect.stringMatching(/^s\.json:\d+: steps\[1\]\.table: expected no "table" here \(a modbus\.write action takes .*unit, address, value\)/),
      expect.stringMatching(/^s\.json:\d+: steps\[2\]\.min: expected no "min" here \(a diagnostics state expectation/),
      expect.stringMatching(/^s\.json:\d+: steps\[3\]\.slot: expected no "slot" here \(fault rn-kill takes name, at_ms, fault\)/),
      expect.stringMatching(/^s\.json:\d+: steps\[4\]\.slot: expected no "slot" here \(a wait/),
      expect.stringMatching(/^s\.json:\d+: steps\[5\]\.payload: expected no "payload" here \(a serial\.write action/),
    ]);
  });

  it('checks steps against the config: units on the bus, Grant purposes, values a register holds, Modbus fields on Modbus slots', () => {
    expect(
      issues(
        scenario([
          { fault: 'dead-slave', slot: 'rs485-1', unit: 9 },
          { fault: 'slow-slave', slot: 'rs485-1', unit: 0, delay_ms: 5 },
          { expect: 'latency', slot: 'rs485-1', unit: 2, max_ratio: 3 },
          { expect: 'action', slot: 'rs485-1', do: 'modbus.read', unit: 1, purposes: ['modbus.raed'], outcome: 'PURPOSE_NOT_GRANTED' },
          { expect: 'action', slot: 'rs485-1', do: 'modbus.read', unit: 1, purposes: ['modbus.read:units=1:tables=holdng'], outcome: 'ok' },
          { set: 'temperature', slot: 'rs485-1', unit: 1, value: 5000 },
          { expect: 'values', slot: 'tty-1', register: 'temperature', unit: 1, min: 0 },
        ]),
      ),
    ).toEqual([
      expect.stringMatching(/^s\.json:\d+: steps\[0\]\.unit: expected a unit of slot rs485-1 \(1\|7\), got 9; unit 9 is not on the bus/),
      expect.stringMatching(/^s\.json:\d+: steps\[1\]\.unit: expected a unit of slot rs485-1 \(1\|7\), got 0/),
      expect.stringMatching(/^s\.json:\d+: steps\[2\]\.unit: expected a unit of slot rs485-1 \(1\|7\), got 2/),
      expect.stringMatching(/^s\.json:\d+: steps\[3\]\.purposes\[0\]: expected a purpose in the `pantheon grant --purpose` grammar.*did you mean modbus\.read/),
      expect.stringMatching(/^s\.json:\d+: steps\[4\]\.purposes\[0\]: expected a purpose .*holdng/),
      expect.stringMatching(/^s\.json:\d+: steps\[5\]\.value: expected a value register temperature \(int16, scale 0\.1, offset 0\) can hold: -3276\.8\.\.3276\.7.*raw 50000/),
      expect.stringMatching(/^s\.json:\d+: steps\[6\]\.register: expected no "register" here \(slot tty-1 is serial-line/),
      expect.stringMatching(/^s\.json:\d+: steps\[6\]\.unit: expected no "unit" here/),
    ]);
    // In range, and the units the bus has: accepted.
    expect(parse(scenario([{ set: 'temperature', slot: 'rs485-1', unit: 1, value: 3276.7 }, { fault: 'dead-slave', slot: 'rs485-1', unit: 7 }])).steps).toHaveLength(2);
  });

  it('refuses a file that is not a scenario (a gateway config given by mistake)', () => {
    expect(issues({ kind: 'uzp-gw/gateway-config', steps: [] })).toEqual([
      expect.stringMatching(/kind: expected one of uzp-gw\/hil-scenario/),
      expect.stringMatching(/^s\.json:3: steps: expected an array of 1\.\.256 steps, got an array of 0/),
    ]);
    expect(issues('{"kind": "uzp-gw/hil-scenario", "steps": [')[0]).toMatch(/^s\.json/);
  });

  it('any JSON value, and any text, is a scenario or a ConfigError, never anything else', () => {
    const step = fc.record(
      {
        expect: fc.constantFrom('readings', 'values', 'action', 'diagnostics', 'latency', 'x'),
        fault: fc.constantFrom('unplug', 'noise', 'flip', 'rn-kill', 'dead-slave', 'y'),
        wait_ms: fc.oneof(fc.integer(), fc.string()),
        slot: fc.constantFrom('rs485-1', 'tty-1', 'tty-2', 'net-1', 'nope'),
        unit: fc.oneof(fc.integer({ min: -5, max: 300 }), fc.string()),
        do: fc.constantFrom('modbus.read', 'modbus.write', 'serial.write', 'mqtt.publish', 'mqtt.subscribe', 'z'),
        outcome: fc.constantFrom('ok', 'exception:2', 'exception:999', 'BUSY', 'busy'),
        min: fc.oneof(fc.double(), fc.integer()),
        max_ratio: fc.oneof(fc.double(), fc.constant(3)),
        match: fc.string(),
        probability: fc.double(),
      },
      { requiredKeys: [] },
    );
    const check = (v: unknown): void => {
      try {
        parse(v);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
      }
    };
    fc.assert(fc.property(fc.array(step, { maxLength: 6 }), (steps) => check(scenario(steps))), { numRuns: 400 });
    fc.assert(fc.property(fc.jsonValue(), (v) => check(v)), { numRuns: 300 });
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (t) => check(t)), { numRuns: 300 });
  });
});
