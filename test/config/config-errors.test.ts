// Each kind of config error comes back with the exact field path, what was expected, what was
// found and a fix hint; all errors are collected; lines point at the field in the file.

import { afterAll, describe, expect, it } from 'vitest';
import { formatIssue, type ConfigIssue } from '../../src/config/index.js';
import { check, ConfigDir, edit, errors, virtualConfig, type JsonValue } from './fixtures.js';

const files = new ConfigDir();
afterAll(() => files.remove());

/** A valid rpi-4b config: Modbus RTU on uart0, MQTT on net-1. */
function rpiConfig(): { [k: string]: JsonValue } {
  return edit((c) => {
    c.board = 'rpi-4b';
    delete c.virtual_dir;
    c.slots = {
      uart0: { device: { id: 'plc-1', driver: 'modbus-poller', serial: { baud: 19200 }, units: [{ unit: 1, profile: 'acme-th20' }] } },
      'net-1': { device: { id: 'press-2', driver: 'mqtt-bridge', broker: 'mqtts://broker.plant:8883', subscribe: ['plant/#'] } },
    };
  });
}

function genericConfig(): { [k: string]: JsonValue } {
  return edit((c) => {
    c.board = 'generic-linux';
    delete c.virtual_dir;
    c.slots = { 'usb-1': { device: { id: 'plc-1', driver: 'modbus-poller', serial: { baud: 9600 }, units: [{ unit: 1, profile: 'acme-th20' }] } } };
  });
}

const INLINE = [{ name: 'a', table: 'holding', address: 0 }];

interface Case {
  readonly name: string;
  readonly cfg: unknown;
  readonly path: string;
  readonly expected?: RegExp;
  readonly found?: RegExp;
  readonly fix: RegExp;
}

const dev = (slot: string) => (c: any) => c.slots[slot].device;

const CASES: Case[] = [
  {
    name: 'enum typo with a suggestion',
    cfg: edit((c) => (dev('rs485-1')(c).units[1] = { unit: 2, registers: [{ name: 'x', table: 'hold', address: 1 }] })),
    path: 'slots.rs485-1.device.units[1].registers[0].table',
    expected: /^one of holding\|input\|coils\|discrete$/,
    found: /^"hold"$/,
    fix: /^did you mean holding\?$/,
  },
  { name: 'unknown key (typo)', cfg: edit((c) => (dev('rs485-1')(c).timeout = 5)), path: 'slots.rs485-1.device.timeout', found: /unknown key "timeout"/, fix: /did you mean timeout_ms\?/ },
  { name: 'unknown top-level key', cfg: edit((c) => (c.boards = 'virtual')), path: 'boards', fix: /did you mean board\?/ },
  { name: 'missing field', cfg: edit((c) => delete dev('tty-1')(c).serial.baud), path: 'slots.tty-1.device.serial.baud', expected: /baud rate/, found: /missing/, fix: /add "baud"/ },
  { name: 'wrong type (quoted number)', cfg: edit((c) => (dev('tty-1')(c).serial.baud = '9600')), path: 'slots.tty-1.device.serial.baud', found: /^"9600"$/, fix: /without quotes/ },
  { name: 'unit id 0', cfg: edit((c) => (dev('rs485-1')(c).units[0].unit = 0)), path: 'slots.rs485-1.device.units[0].unit', expected: /1\.\.247/, fix: /1 to 247/ },
  { name: 'unit id 248', cfg: edit((c) => (dev('rs485-1')(c).units[2].unit = 248)), path: 'slots.rs485-1.device.units[2].unit', expected: /reserved/, fix: /1 to 247/ },
  { name: 'duplicate unit on a bus', cfg: edit((c) => (dev('rs485-1')(c).units[1].unit = 1)), path: 'slots.rs485-1.device.units[1].unit', found: /1 again \(first at units\[0\]\)/, fix: /own address/ },
  {
    name: 'overlapping registers',
    cfg: edit((c) => (dev('rs485-1')(c).units[2].registers = [{ name: 'e', table: 'holding', address: 100, type: 'uint32' }, { name: 'f', table: 'holding', address: 101 }])),
    path: 'slots.rs485-1.device.units[2].registers[1]',
    expected: /do not overlap/,
    found: /holding 101\.\.101 overlapping "e" \(holding 100\.\.101\)/,
    fix: /32-bit value spans two registers/,
  },
  {
    name: 'duplicate register name',
    cfg: edit((c) => (dev('rs485-1')(c).units[2].registers = [{ name: 'e', table: 'holding', address: 100 }, { name: 'e', table: 'holding', address: 200 }])),
    path: 'slots.rs485-1.device.units[2].registers[1].name',
    fix: /rename/,
  },
  { name: 'overlap inside a profile', cfg: edit((c) => (c.device_profiles['acme-th20'].registers[1].address = 0)), path: 'device_profiles.acme-th20.registers[1]', expected: /do not overlap/, fix: /address or count/ },
  { name: 'profile not found', cfg: edit((c) => (dev('rs485-1')(c).units[0].profile = 'acme-th2')), path: 'slots.rs485-1.device.units[0].profile', expected: /acme-th20/, fix: /^did you mean acme-th20\?$/ },
  { name: 'profile and registers', cfg: edit((c) => (dev('rs485-1')(c).units[0].registers = INLINE)), path: 'slots.rs485-1.device.units[0].registers', expected: /not both/, fix: /profile/ },
  { name: 'neither profile nor registers', cfg: edit((c) => delete dev('rs485-1')(c).units[0].profile), path: 'slots.rs485-1.device.units[0].profile', found: /neither/, fix: /add "profile"/ },
  { name: 'unknown slot', cfg: edit((c) => (c.slots['rs485-9'] = c.slots['rs485-1'], delete c.slots['rs485-1'])), path: 'slots.rs485-9', expected: /a slot of board virtual/, fix: /did you mean rs485-/ },
  { name: 'bad slot id', cfg: edit((c) => (c.slots['RS485 1'] = c.slots['rs485-1'], delete c.slots['rs485-1'])), path: 'slots["RS485 1"]', expected: /slot id/, fix: /rename/ },
  { name: 'unknown board', cfg: edit((c) => (c.board = 'rpi4')), path: 'board', expected: /a known board/, fix: /did you mean rpi-4b/ },
  { name: 'wrong device kind for a slot', cfg: edit((c) => (c.slots['net-1'] = c.slots['tty-1'], delete c.slots['tty-1'])), path: 'slots.net-1.device.driver', expected: /modbus-poller\|mqtt-bridge/, fix: /free slot that takes serial-line: rs485-2, /, found: /"serial-line"/ },
  { name: 'MQTT on a serial slot', cfg: edit((c) => (c.slots['tty-3'] = c.slots['net-1'], delete c.slots['net-1'])), path: 'slots.tty-3.device.driver', found: /"mqtt-bridge"/, fix: /net-1/ },
  { name: 'baud not supported by the port', cfg: edit((c) => (dev('tty-1')(c).serial.baud = 14400)), path: 'slots.tty-1.device.serial.baud', expected: /what port tty-1 supports/, fix: /.+/ },
  { name: 'Modbus RTU with 7 data bits', cfg: edit((c) => (dev('rs485-1')(c).serial.data_bits = 7)), path: 'slots.rs485-1.device.serial.data_bits', expected: /Modbus RTU frames 8-bit characters/, fix: /did you mean 8\?/ },
  { name: 'Modbus TCP on a serial slot', cfg: edit((c) => (dev('rs485-1')(c).tcp = { host: '10.0.0.5' }, delete dev('rs485-1')(c).serial)), path: 'slots.rs485-1.device.tcp', expected: /"serial" settings/, fix: /net slot/ },
  { name: 'Modbus RTU on a net slot', cfg: edit((c) => (c.slots['net-2'] = { device: { id: 'x', driver: 'modbus-poller', serial: { baud: 9600 }, units: [{ unit: 1, registers: INLINE }] } })), path: 'slots.net-2.device.serial', expected: /"tcp" settings/, fix: /serial slot/ },
  { name: 'serial and tcp both', cfg: edit((c) => (dev('rs485-1')(c).tcp = { host: 'h' })), path: 'slots.rs485-1.device.tcp', expected: /not both/, fix: /keep the one/ },
  { name: 'virtual_dir missing on the virtual board', cfg: edit((c) => delete c.virtual_dir), path: 'virtual_dir', found: /missing/, fix: /add "virtual_dir"/ },
  { name: 'duplicate device id', cfg: edit((c) => (dev('tty-2')(c).id = 'sensor-7')), path: 'slots.tty-2.device.id', found: /also in slot tty-1/, fix: /own id/ },
  { name: 'broker URL scheme', cfg: edit((c) => (dev('net-1')(c).broker = 'http://127.0.0.1:1883')), path: 'slots.net-1.device.broker', expected: /mqtt, mqtts, ws or wss/, fix: /mqtt:/ },
  { name: 'broker URL with a password', cfg: edit((c) => (dev('net-1')(c).broker = 'mqtt://u:secret@h')), path: 'slots.net-1.device.broker', fix: /password_file/ },
  { name: 'bad topic filter', cfg: edit((c) => (dev('net-1')(c).subscribe = ['plant/#/x'])), path: 'slots.net-1.device.subscribe[0]', expected: /topic filter/, fix: /alarms\/#/ },
  { name: 'MQTT keepalive off', cfg: edit((c) => (dev('net-1')(c).keepalive_s = 0)), path: 'slots.net-1.device.keepalive_s', expected: /1\.\.65535/, found: /^0$/, fix: /^use 30 \(the default\).*would never be noticed$/ },
  { name: 'MQTT without topics', cfg: edit((c) => ((dev('net-1')(c).subscribe = []), (dev('net-1')(c).publish = []))), path: 'slots.net-1.device.subscribe', found: /none/, fix: /plant\/#/ },
  { name: 'writable (removed: write authority is the Grant)', cfg: edit((c) => (c.device_profiles['acme-th20'].registers[0].writable = true)), path: 'device_profiles.acme-th20.registers[0].writable', found: /unknown key "writable"/, fix: /remove it/ },
  { name: 'coil with a numeric type', cfg: edit((c) => (c.device_profiles['acme-th20'].registers[3].type = 'int16')), path: 'device_profiles.acme-th20.registers[3].type', expected: /^bool/, fix: /"type": "bool"/ },
  { name: 'bool in a holding register', cfg: edit((c) => (c.device_profiles['acme-th20'].registers[2].type = 'bool')), path: 'device_profiles.acme-th20.registers[2].type', fix: /uint16/ },
  { name: 'word_order on a 16-bit value', cfg: edit((c) => (c.device_profiles['acme-th20'].registers[0].word_order = 'little')), path: 'device_profiles.acme-th20.registers[0].word_order', expected: /32-bit types only/, fix: /remove "word_order"/ },
  { name: 'scale on a bool', cfg: edit((c) => (c.device_profiles['acme-th20'].registers[3].scale = 2)), path: 'device_profiles.acme-th20.registers[3].scale', fix: /remove "scale"/ },
  { name: 'zero scale', cfg: edit((c) => (c.device_profiles['acme-th20'].registers[0].scale = 0)), path: 'device_profiles.acme-th20.registers[0].scale', expected: /non-zero/, fix: /use 1/ },
  { name: 'register past 65535', cfg: edit((c) => (dev('rs485-1')(c).units[2].registers[0].address = 65535)), path: 'slots.rs485-1.device.units[2].registers[0].address', expected: /end by 65535/, fix: /at most 65534/ },
  { name: 'count beyond one read', cfg: edit((c) => (dev('rs485-1')(c).units[2].registers[0].count = 63)), path: 'slots.rs485-1.device.units[2].registers[0].count', expected: /1\.\.62/, fix: /1 to 62/ },
  { name: 'missing kind', cfg: edit((c) => delete c.kind), path: 'kind', found: /missing/, fix: /add "kind"/ },
  { name: 'unknown driver', cfg: edit((c) => (dev('rs485-1')(c).driver = 'modbus')), path: 'slots.rs485-1.device.driver', fix: /did you mean modbus-poller\?/ },
  { name: 'slots not an object', cfg: edit((c) => (c.slots = [])), path: 'slots', expected: /an object mapping/, fix: /JSON object/ },
  { name: 'JSON syntax', cfg: '{\n  "kind": "uzp-gw/gateway-config",\n}', path: '', expected: /valid JSON/, found: /line 3 column 1/, fix: /trailing commas/ },
  { name: 'parity on the mini UART', cfg: edit((c) => (c.slots['mini-uart'] = c.slots.uart0, delete c.slots.uart0), rpiConfig), path: 'slots.mini-uart.device.serial.parity', expected: /^one of none \(what port mini-uart supports\)$/, fix: /uzpgw boards show rpi-4b/ },
  { name: 'two ports on the same pins', cfg: edit((c) => (c.slots['mini-uart'] = { device: { id: 'x', driver: 'serial-raw', serial: { baud: 9600 } } }), rpiConfig), path: 'slots.mini-uart', expected: /separate GPIO pins/, found: /GPIO 14, 15, also used by slot uart0/, fix: /only one/ },
  { name: 'virtual_dir on a real board', cfg: edit((c) => (c.virtual_dir = 'pty'), rpiConfig), path: 'virtual_dir', fix: /remove "virtual_dir"/ },
  { name: 'port_path on a fixed port', cfg: edit((c) => (c.slots.uart0.port_path = '/dev/ttyAMA0'), rpiConfig), path: 'slots.uart0.port_path', expected: /always \/dev\/ttyAMA0/, fix: /remove "port_path"/ },
  { name: 'two slots claiming one device', cfg: edit((c) => (c.slots['usb-2'] = { port_path: '/dev/ttyUSB0', device: { id: 'y', driver: 'serial-raw', serial: { baud: 9600 } } }), genericConfig), path: 'slots.usb-2', expected: /a port no other slot uses/, found: /\/dev\/ttyUSB0, already used by slot usb-1/, fix: /several "units"/ },
  { name: 'port_path outside the patterns', cfg: edit((c) => (c.slots['usb-1'].port_path = '/dev/ttyS3'), genericConfig), path: 'slots.usb-1.port_path', expected: /matching \/dev\/ttyUSB\*/, fix: /by-id/ },
  { name: 'port_path leaving /dev', cfg: edit((c) => (c.slots['usb-1'].port_path = '/dev/../etc/shadow'), genericConfig), path: 'slots.usb-1.port_path', expected: /no \. or \.\. segments/, fix: /write an absolute device path/ },
  { name: 'port_path missing on an adapter port', cfg: edit((c) => (c.slots['rs485-1'] = c.slots['usb-1'], delete c.slots['usb-1']), genericConfig), path: 'slots.rs485-1.port_path', found: /missing/, fix: /add "port_path"/ },
  // Buffer.from('→', 'latin1') is 0x92: the gateway would have split lines on that byte.
  { name: 'latin1 delimiter with a character beyond U+00FF', cfg: edit((c) => Object.assign(dev('tty-1')(c), { delimiter: '\u2192\n', encoding: 'latin1' })), path: 'slots.tty-1.device.delimiter', expected: /latin1 characters U\+0000\.\.U\+00FF/, found: /^"\u2192\\n"$/, fix: /U\+2192 is not a latin1 character.*"encoding": "utf8"/ },
  { name: 'same Modbus TCP unit in two slots', cfg: edit((c) => { const d = { driver: 'modbus-poller', tcp: { host: 'PLC.local' }, units: [{ unit: 1, registers: INLINE }] }; c.slots['net-2'] = { device: { ...d, id: 'a' } }; c.slots['net-3'] = { device: { ...d, id: 'b', tcp: { host: 'plc.local', port: 502 } } }; }), path: 'slots.net-3.device.units[0].unit', found: /plc\.local:502, also polled by slot net-2/, fix: /one slot only/ },
];

describe('each kind of config error', () => {
  for (const c of CASES) {
    it(`${c.name} -> ${c.path || '(top level)'}`, () => {
      const r = check(c.cfg);
      expect(r.config).toBeUndefined();
      const hit = errors(r).find((i) => i.path === c.path);
      expect(hit, `no issue at ${c.path}; got:\n${r.issues.map(formatIssue).join('\n')}`).toBeDefined();
      if (c.expected) expect(hit!.expected).toMatch(c.expected);
      if (c.found) expect(hit!.found).toMatch(c.found);
      expect(hit!.fix).toMatch(c.fix);
      expect(hit!.file).toMatch(/gw\.json$/);
    });
  }

  it('a latin1 delimiter of characters up to U+00FF, and a utf8 delimiter of any, are accepted', () => {
    for (const [delimiter, encoding] of [['\u00ff\r\n', 'latin1'], ['\u2192\n', 'utf8'], ['\u{1F600}', 'utf8']]) {
      const r = check(edit((c) => Object.assign(dev('tty-1')(c), { delimiter, encoding })));
      expect(r.issues, `${JSON.stringify(delimiter)} ${encoding}`).toEqual([]);
      expect(r.config!.slots.find((x) => x.id === 'tty-1')!.device).toMatchObject({ delimiter, encoding });
    }
  });

  it('the examples the issue text gives read exactly as promised', () => {
    const r = check(CASES[0]!.cfg);
    const i = errors(r).find((x) => x.path === CASES[0]!.path)!;
    expect(formatIssue(i)).toMatch(/gw\.json:\d+: slots\.rs485-1\.device\.units\[1\]\.registers\[0\]\.table: expected one of holding\|input\|coils\|discrete, got "hold"; did you mean holding\?$/);
  });

  it('a typo of a required key is one mistake, one message: baud_rate for baud', () => {
    const r = check(edit((c) => (delete dev('tty-1')(c).serial.baud, (dev('tty-1')(c).serial.baud_rate = 9600))));
    expect(errors(r).map((i) => [i.path, i.fix])).toEqual([['slots.tty-1.device.serial.baud_rate', expect.stringMatching(/^did you mean baud\?/)]]);
    // A key that is simply missing is still reported as missing.
    const missing = check(edit((c) => delete dev('tty-1')(c).serial.baud));
    expect(errors(missing).map((i) => [i.path, i.found])).toEqual([['slots.tty-1.device.serial.baud', expect.stringMatching(/missing/)]]);
  });

  it('a missing virtual_dir is reported once, not once per slot', () => {
    const r = check(edit((c) => delete c.virtual_dir));
    expect(errors(r).map((i) => i.path)).toEqual(['virtual_dir']);
  });

  it('missing files are reported with how to obtain them', () => {
    const r = check(virtualConfig(), { dir: '/nonexistent-config-dir', checkFiles: true });
    const byPath = new Map(errors(r).map((i) => [i.path, i] as const));
    expect(byPath.get('identity.key')?.fix).toMatch(/uzpgw keygen/);
    expect(byPath.get('identity.pcert')?.fix).toMatch(/pantheon enroll/);
    expect(byPath.get('trust.anchor')?.fix).toMatch(/pantheon init/);
    expect(byPath.get('trust.rn_set')?.fix).toMatch(/pantheon rn-set/);
    expect(byPath.get('trust.revocations[0]')?.fix).toMatch(/pantheon revoke/);
    expect(byPath.get('audit.file')?.expected).toMatch(/directory/);
    expect(byPath.get('identity.key')?.expected).toContain('/nonexistent-config-dir/keys/gateway.key');
    expect(check(virtualConfig(), { dir: files.dir, checkFiles: true }).issues.filter((i) => i.severity === 'error')).toEqual([]);
  });
});

describe('collecting and locating', () => {
  it('all errors are collected, one per problem, not just the first', () => {
    const cfg = edit((c) => {
      c.kind = 'uzp-gw/gateway-confg';
      c.audit.level = 'verbose';
      c.device_profiles['acme-th20'].registers[0].table = 'inputs';
      dev('rs485-1')(c).units[2].unit = 300;
      dev('tty-1')(c).serial.parity = 'evn';
      dev('tty-2')(c).serial.stopbits = 2;
      dev('net-1')(c).qos = 3;
      c.slots['tty-99'] = c.slots['tty-2'];
    });
    const r = check(cfg);
    const paths = errors(r).map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'kind',
        'audit.level',
        'device_profiles.acme-th20.registers[0].table',
        'slots.rs485-1.device.units[2].unit',
        'slots.tty-1.device.serial.parity',
        'slots.tty-2.device.serial.stopbits',
        'slots.net-1.device.qos',
        'slots.tty-99',
      ]),
    );
    expect(new Set(paths).size).toBe(paths.length - paths.filter((p) => p === 'slots.tty-99.device.id').length);
    expect(errors(r).find((i) => i.path === 'slots.tty-1.device.serial.parity')!.fix).toBe('did you mean even?');
    expect(errors(r).find((i) => i.path === 'slots.tty-2.device.serial.stopbits')!.fix).toMatch(/did you mean stop_bits\?/);
  });

  it('a field with a structural error gets no second, derived message', () => {
    // The unit id 0 is bad; the placeholder must not also be reported as a duplicate or out of range twice.
    const r = check(edit((c) => ((dev('rs485-1')(c).units[0].unit = 'one'), (dev('rs485-1')(c).units[1].unit = 'two'))));
    expect(errors(r).map((i) => i.path)).toEqual(['slots.rs485-1.device.units[0].unit', 'slots.rs485-1.device.units[1].unit']);
    // A profile with an error is not reported again at every unit that uses it.
    const r2 = check(edit((c) => (c.device_profiles['acme-th20'].registers[0].table = 'x')));
    expect(errors(r2).map((i) => i.path)).toEqual(['device_profiles.acme-th20.registers[0].table']);
  });

  it('issues carry the line of the field in the file, in file order', () => {
    const text = JSON.stringify(edit((c) => ((dev('tty-1')(c).serial.baud = 'fast'), (c.audit.level = 'loud'))), null, 2);
    const r = check(text);
    const lines = text.split('\n');
    for (const i of errors(r)) {
      const key = i.path.split('.').pop()!;
      expect(lines[i.line! - 1], i.path).toContain(`"${key}"`);
    }
    const ls = r.issues.map((i) => i.line!);
    expect([...ls].sort((a, b) => a - b)).toEqual(ls);
  });
});

describe('warnings do not fail a config', () => {
  const warningsOf = (cfg: unknown): ConfigIssue[] => {
    const r = check(cfg);
    expect(errors(r), r.issues.map(formatIssue).join('\n')).toEqual([]);
    expect(r.config).toBeDefined();
    return r.issues.filter((i) => i.severity === 'warning');
  };

  it('a valid config has no issues at all', () => {
    expect(check(virtualConfig()).issues).toEqual([]);
    expect(check(rpiConfig()).issues).toEqual([]);
    expect(check(genericConfig()).issues).toEqual([]);
  });

  it('an unused device profile', () => {
    const w = warningsOf(edit((c) => (c.device_profiles.spare = { registers: INLINE })));
    expect(w.map((i) => i.path)).toEqual(['device_profiles.spare']);
  });

  it('a poll plan the line cannot carry', () => {
    const w = warningsOf(edit((c) => ((dev('rs485-1')(c).serial.baud = 1200), (dev('rs485-1')(c).poll_interval_ms = 10), (c.device_profiles['acme-th20'].poll_interval_ms = 10))));
    expect(w.map((i) => i.path)).toContain('slots.rs485-1.device.units');
    expect(w.find((i) => i.path === 'slots.rs485-1.device.units')!.found).toMatch(/% of the line time at 1200 baud/);
  });

  it('Modbus RTU 8N1 (the spec asks for 2 stop bits without parity)', () => {
    const w = warningsOf(edit((c) => (dev('rs485-1')(c).serial.parity = 'none')));
    expect(w.map((i) => i.path)).toEqual(['slots.rs485-1.device.serial.stop_bits']);
  });

  it('an older config (512 registers per profile, each with the refused `writable` key) is checked at once, every error listed', () => {
    // Before: the register-overlap check asked, for every pair of registers, whether either had an
    // error, scanning every error so far: cubic, 108 s for this config (4 such maps) in a review.
    const legacy = edit((c) => {
      for (let p = 0; p < 4; p++) c.device_profiles[`old-${p}`] = { registers: Array.from({ length: 512 }, (_, i) => ({ name: `r${i}`, table: 'holding', address: i, writable: true })) };
    });
    const e = errors(check(legacy));
    expect(e.filter((i) => i.path.endsWith('.writable'))).toHaveLength(4 * 512);
  });
});
