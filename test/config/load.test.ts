// loadGatewayConfig: the typed config the composition root gets (paths resolved against the config
// file, profiles resolved into units, defaults filled), ConfigError on problems, and the digest.

import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  canonicalConfig,
  ConfigError,
  configDigest,
  configDigestHex,
  jcs,
  loadGatewayConfig,
  type GatewayConfig,
  type ModbusPollerDevice,
  type MqttBridgeDevice,
} from '../../src/config/index.js';
import { blake3Hex } from './blake3.js';
import { ConfigDir, edit, virtualConfig } from './fixtures.js';
import { CommonCode } from '../../src/lib/errors.js';
import { FileErrorCode } from '../../src/files/errors.js';

const a = new ConfigDir();
const b = new ConfigDir();
afterAll(() => (a.remove(), b.remove()));

function load(cfg: unknown, dir = a, name = 'gw.json'): GatewayConfig {
  return loadGatewayConfig(dir.write(name, cfg));
}

describe('loadGatewayConfig', () => {
  it('resolves relative paths against the config file and fills in the board port paths', () => {
    const c = load(virtualConfig());
    expect(c.file).toBe(join(a.dir, 'gw.json'));
    expect(c.identity).toEqual({ key: join(a.dir, 'keys/gateway.key'), pcert: join(a.dir, 'keys/gateway.pcert') });
    expect(c.trust).toEqual({ anchor: join(a.dir, 'trust/trust.json'), rnSet: join(a.dir, 'trust/rn-set.uzp'), revocations: [join(a.dir, 'trust/revocations.uzp')] });
    expect(c.virtualDir).toBe(join(a.dir, 'pty'));
    expect(c.audit).toEqual({ file: join(a.dir, 'log/audit.jsonl'), level: 'info' });
    expect(c.slots.map((s) => [s.id, s.port.path])).toEqual([
      ['rs485-1', join(a.dir, 'pty/rs485-1')],
      ['tty-1', join(a.dir, 'pty/tty-1')],
      ['tty-2', join(a.dir, 'pty/tty-2')],
      ['net-1', undefined],
    ]);
    expect(c.slots[0]!.port).toMatchObject({ id: 'rs485-1', kind: 'rs485', rs485: { direction: 'auto' } });
  });

  it('fills defaults and resolves profiles into units with the poll interval precedence register > unit > profile > device', () => {
    const c = load(virtualConfig());
    const m = c.slots[0]!.device as ModbusPollerDevice;
    expect(m.transport).toEqual({ kind: 'rtu', serial: { baudRate: 19200, dataBits: 8, parity: 'even', stopBits: 1 } });
    expect(m).toMatchObject({ timeoutMs: 200, pollIntervalMs: 1000, queueLimit: 16 });
    const [u1, u2, u7] = m.units;
    expect(u1!.profile).toBe('acme-th20');
    expect(u1!.registers.map((r) => [r.name, r.pollIntervalMs])).toEqual([['temperature', 2000], ['humidity', 2000], ['setpoint', 2000], ['alarm', 500]]);
    expect(u2!.registers.map((r) => r.pollIntervalMs)).toEqual([5000, 5000, 5000, 500]);
    expect(u7!.registers[0]).toMatchObject({ name: 'energy', type: 'uint32', wordOrder: 'little', byteOrder: 'big', scale: 1, offset: 0, count: 1, pollIntervalMs: 1000 });
    expect(u1!.registers[3]).toMatchObject({ table: 'coils', type: 'bool' });
    expect(u1!.timeoutMs).toBe(200);
    const line = c.slots[1]!.device;
    expect(line).toMatchObject({ driver: 'serial-line', delimiter: '\r\n', maxLineBytes: 256, encoding: 'utf8', serial: { parity: 'none', stopBits: 1 } });
    const mq = c.slots[3]!.device as MqttBridgeDevice;
    expect(mq).toMatchObject({ qos: 1, maxInflight: 16, maxQueue: 1000, keepaliveS: 30, maxPayloadBytes: 65536 });
  });

  it('rn.links: the warm standby count, 2 by default, 1..4', () => {
    expect(load(virtualConfig()).rnLinks).toBe(2);
    expect(load(edit((c) => (c.rn = { links: 1 }))).rnLinks).toBe(1);
    let err: ConfigError | undefined;
    try {
      load(edit((c) => (c.rn = { links: 5 })), a, 'rn5.json');
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err?.issues.map((i) => i.path)).toEqual(['rn.links']);
    expect(err?.message).toMatch(/how many RNs to stay attached to at once, 1\.\.4/);
  });

  it('sessions.per_operator: absent unless set (the gateway then takes its default), 1..1024', () => {
    expect(load(virtualConfig()).sessionsPerOperator).toBeUndefined();
    expect(load(edit((c) => (c.sessions = { per_operator: 3 }))).sessionsPerOperator).toBe(3);
    expect(load(edit((c) => (c.sessions = {}))).sessionsPerOperator).toBeUndefined();
    for (const [bad, path] of [[{ per_operator: 0 }, 'sessions.per_operator'], [{ per_operator: 1025 }, 'sessions.per_operator'], [{ max: 3 }, 'sessions.max']] as const) {
      let err: ConfigError | undefined;
      try {
        load(edit((c) => (c.sessions = bad)), a, 'sessions.json');
      } catch (e) {
        err = e as ConfigError;
      }
      expect(err?.issues.map((i) => i.path)).toEqual([path]);
    }
  });

  it('throws one ConfigError (CONFIG_INVALID) listing every error', () => {
    const file = a.write('bad.json', edit((c) => ((c.board = 'rpi4'), (c.audit.level = 'x'))));
    let err: unknown;
    try {
      loadGatewayConfig(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const ce = err as ConfigError;
    expect(ce.code).toBe(CommonCode.CONFIG_INVALID);
    expect(ce.issues.map((i) => i.path).sort()).toEqual(['audit.level', 'board']);
    expect(ce.message).toMatch(/bad\.json: 2 problems\n {2}.*bad\.json:\d+: board: expected a known board/);
  });

  it('an unreadable or missing config file is a typed file error', () => {
    expect(() => loadGatewayConfig(join(a.dir, 'nope.json'))).toThrow(expect.objectContaining({ code: FileErrorCode.FILE_NOT_FOUND }));
  });
});

describe('configDigest', () => {
  it('is BLAKE3-256 over the RFC 8785 canonical JSON of the validated config', () => {
    const c = load(virtualConfig());
    const canon = jcs(canonicalConfig(c));
    expect(configDigestHex(c)).toBe(blake3Hex(canon));
    expect(configDigest(c)).toHaveLength(32);
    expect(canon).toContain('"identity":{"key":"keys/gateway.key","pcert":"keys/gateway.pcert"}');
  });

  it('does not change with key order, whitespace, explicit defaults or the directory the bundle sits in', () => {
    const d0 = configDigestHex(load(virtualConfig()));
    const reordered = Object.fromEntries(Object.entries(virtualConfig()).reverse());
    expect(configDigestHex(load(JSON.stringify(reordered), a, 'r.json'))).toBe(d0);
    expect(configDigestHex(load(JSON.stringify(virtualConfig()), a, 'compact.json'))).toBe(d0);
    const explicit = edit((c) => ((c.slots['tty-2'].device.serial.parity = 'none'), (c.slots['tty-2'].device.max_buffer_bytes = 65536), (c.slots['net-1'].device.qos = 1)));
    expect(configDigestHex(load(explicit, a, 'e.json'))).toBe(d0);
    mkdirSync(join(b.dir, 'deeper'), { recursive: true });
    cpSync(a.dir, join(b.dir, 'deeper'), { recursive: true });
    expect(configDigestHex(loadGatewayConfig(join(b.dir, 'deeper', 'gw.json')))).toBe(d0);
  });

  it('changes with any change of meaning', () => {
    const d0 = configDigestHex(load(virtualConfig()));
    const variants = [
      edit((c) => (c.slots['tty-1'].device.serial.baud = 19200)),
      edit((c) => (c.device_profiles['acme-th20'].registers[0].scale = 0.01)),
      edit((c) => (c.slots['rs485-1'].device.units[1].poll_interval_ms = 4000)),
      edit((c) => (c.identity.key = 'keys/../keys/gateway.pcert')),
      edit((c) => (c.slots['net-1'].device.subscribe = ['plant/#'])),
      edit((c) => (c.slots['tty-3'] = c.slots['tty-2'], delete c.slots['tty-2'])),
      edit((c) => (c.audit.level = 'debug')),
    ];
    const digests = variants.map((v, i) => configDigestHex(load(v, a, `v${i}.json`)));
    for (const d of digests) expect(d).not.toBe(d0);
    expect(new Set(digests).size).toBe(digests.length);
  });
});

describe('jcs (RFC 8785)', () => {
  it('sorts keys by UTF-16 code units and uses ECMAScript number forms (RFC 8785 §3.2.2, Appendix B)', () => {
    expect(jcs({ b: 1, a: [true, null, 'x'], A: {} })).toBe('{"A":{},"a":[true,null,"x"],"b":1}');
    // RFC 8785 §3.2.3: property names sort by UTF-16 code units (so "€" U+20AC before "😀" U+D83D U+DE00).
    expect(jcs({ '\u20ac': 1, '\r': 2, '1': 3, '\ud83d\ude00': 4, '\u0080': 5, '\u00f6': 6 })).toBe('{"\\r":2,"1":3,"\u0080":5,"ö":6,"€":1,"😀":4}');
    // RFC 8785 §3.2.4 worked example.
    const input = String.raw`{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "literals": [null, true, false]}`;
    expect(jcs(JSON.parse(input))).toBe(String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`);
  });
});
