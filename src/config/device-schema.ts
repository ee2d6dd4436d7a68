// The device in a slot: its id, its driver and the driver's parameters (Modbus RTU/TCP polling,
// delimiter-framed serial lines, raw serial passthrough, MQTT bridging).

import { isTopicFilter } from '../lib/mqtt-topics.js';
import { childPath } from '../lib/json-path.js';
import type { IssueLog } from './issues.js';
import type { Node, Obj } from './node.js';
import { parseRegisterMap, pollInterval, PROFILE_NAME } from './register-schema.js';
import { MODBUS_BROADCAST_TURNAROUND_MS } from '../ports/constants.js';
import { RTU_MAX_UNIT, TCP_MAX_UNIT } from '../ports/modbus/vocabulary.js';
import { didYouMean } from './suggest.js';
import { MAX_BAUD } from './board-schema.js';
import {
  DEVICE_KINDS,
  PARITIES,
  TCP_UNIT_0_MODES,
  type DeviceConfig,
  type DeviceProfile,
  type DeviceKind,
  type ModbusPollerDevice,
  type ModbusTransport,
  type ModbusUnit,
  type MqttBridgeDevice,
  type Parity,
  type RegisterDef,
  type RegisterSpec,
  type SerialLineDevice,
  type SerialParams,
  type SerialRawDevice,
} from './types.js';

const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[?[0-9A-Fa-f:.]+\]?)$/;

export interface DeviceContext {
  readonly log: IssueLog;
  readonly profiles: ReadonlyMap<string, DeviceProfile>;
  /** Paths of profiles that failed validation (references to them are not reported twice). */
  readonly badProfiles: ReadonlySet<string>;
  /** Resolves a file path relative to the config file's directory. */
  readonly resolve: (p: string) => string;
}

const COMMON = ['id', 'driver', 'description'];
const KEYS: Record<DeviceKind, readonly string[]> = {
  'modbus-poller': [...COMMON, 'serial', 'tcp', 'tcp_unit_0', 'timeout_ms', 'turnaround_ms', 'inter_request_delay_ms', 'poll_interval_ms', 'queue_limit', 'units'],
  'serial-line': [...COMMON, 'serial', 'delimiter', 'max_line_bytes', 'encoding'],
  'serial-raw': [...COMMON, 'serial', 'max_buffer_bytes', 'idle_flush_ms'],
  'mqtt-bridge': [...COMMON, 'broker', 'client_id', 'username', 'password_file', 'ca_file', 'subscribe', 'publish', 'qos', 'max_inflight', 'max_queue', 'max_payload_bytes', 'keepalive_s', 'clean_session'],
};
const ALL_KEYS = [...new Set(Object.values(KEYS).flat())];

function parseSerial(n: Node, defaultParity: Parity, rtu = false): SerialParams {
  const o = n.obj(['baud', 'data_bits', 'parity', 'stop_bits'], 'serial settings {"baud": 9600, ...}');
  return {
    baudRate: o.req('baud').int(50, MAX_BAUD, 'a baud rate such as 9600 or 19200'),
    // Modbus over serial line v1.02 §2.5.1: RTU characters have 8 data bits (7 is Modbus ASCII).
    dataBits: o.opt('data_bits', (x) => (rtu ? x.intChoice([8] as const, ' (Modbus RTU frames 8-bit characters; 7 data bits is Modbus ASCII, not supported)') : x.intChoice([7, 8] as const))) ?? 8,
    parity: o.opt('parity', (x) => x.choice(PARITIES)) ?? defaultParity,
    stopBits: o.opt('stop_bits', (x) => x.intChoice([1, 2] as const)) ?? 1,
  };
}

function parseUnit(n: Node, ctx: DeviceContext, tcp: boolean, dev: { pollIntervalMs: number; timeoutMs: number }): ModbusUnit {
  const o = n.obj(['unit', 'name', 'profile', 'registers', 'poll_interval_ms', 'timeout_ms'], 'a unit {"unit": 1, "profile": "..."} or {"unit": 1, "registers": [...]}');
  // Modbus over serial line v1.02 §2.2: 1..247 are slave addresses, 0 is broadcast, 248..255 reserved.
  // Modbus TCP (Messaging Implementation Guide v1.0b §4.4.2) carries any 0..255 unit identifier.
  const unit = tcp ? o.req('unit').int(0, TCP_MAX_UNIT, `a Modbus TCP unit identifier 0..${TCP_MAX_UNIT}`) : o.req('unit').int(1, RTU_MAX_UNIT, `a unit id 1..${RTU_MAX_UNIT} (0 is broadcast, ${RTU_MAX_UNIT + 1}..255 are reserved)`);
  const name = o.opt('name', (x) => x.text({ max: 64 }));
  const unitPoll = o.opt('poll_interval_ms', pollInterval);
  const timeoutMs = o.opt('timeout_ms', (x) => x.int(10, 60_000, 'a timeout in ms, 10..60000')) ?? dev.timeoutMs;
  let profile: string | undefined;
  let specs: readonly RegisterSpec[] = [];
  let profilePoll: number | undefined;
  if (o.has('profile') && o.has('registers')) {
    ctx.log.add(childPath(n.path, 'registers'), { expected: 'either "profile" or "registers", not both', found: 'both', fix: 'keep the profile name and move extra registers into the profile, or drop "profile"' });
  } else if (o.has('profile')) {
    const pn = o.req('profile');
    profile = pn.text({ pattern: PROFILE_NAME, max: 64, what: 'the name of an entry of device_profiles' });
    const p = ctx.profiles.get(profile);
    if (p !== undefined) {
      specs = p.registers;
      profilePoll = p.pollIntervalMs;
    } else if (profile !== '' && !ctx.badProfiles.has(profile)) {
      const names = [...ctx.profiles.keys(), ...ctx.badProfiles];
      pn.bad(names.length > 0 ? `the name of a device profile (${names.join('|')})` : 'the name of a device profile (device_profiles is empty)', didYouMean(profile, names) || `add "${profile}" to device_profiles, or list the registers inline with "registers"`, '');
    }
  } else if (o.has('registers')) {
    specs = parseRegisterMap(o.req('registers'), ctx.log);
  } else if (!o.dead) {
    ctx.log.add(childPath(n.path, 'profile'), { expected: 'a register map: "profile" (a device_profiles name) or inline "registers"', found: 'neither', fix: 'add "profile": "<name>" or "registers": [ ... ]' });
  }
  const registers: RegisterDef[] = specs.map((r) => ({ ...r, pollIntervalMs: r.pollIntervalMs ?? unitPoll ?? profilePoll ?? dev.pollIntervalMs }));
  return { unit, ...(name !== undefined ? { name } : {}), ...(profile !== undefined ? { profile } : {}), registers, timeoutMs };
}

function parseModbus(o: Obj, ctx: DeviceContext, base: { id: string; description?: string }): ModbusPollerDevice {
  let transport: ModbusTransport;
  if (o.has('serial') && o.has('tcp')) {
    ctx.log.add(childPath(o.path, 'tcp'), { expected: 'either "serial" (Modbus RTU) or "tcp" (Modbus TCP), not both', found: 'both', fix: 'keep the one that matches the slot: serial for a bus on a serial port, tcp for a net slot' });
    transport = { kind: 'tcp', host: '', port: 502 };
  } else if (o.has('tcp')) {
    const t = o.req('tcp').obj(['host', 'port'], 'an object {"host": "10.0.0.5", "port": 502}');
    transport = { kind: 'tcp', host: t.req('host').text({ pattern: HOST, max: 253, what: 'a host name or IP address' }), port: t.opt('port', (x) => x.int(1, 65535, 'a TCP port 1..65535')) ?? 502 };
  } else if (o.has('serial')) {
    // Modbus over serial line v1.02 §2.5.1: even parity is the required default.
    transport = { kind: 'rtu', serial: parseSerial(o.req('serial'), 'even', true) };
  } else {
    if (!o.dead) ctx.log.add(childPath(o.path, 'serial'), { expected: '"serial" (Modbus RTU on a serial port) or "tcp" (Modbus TCP)', found: 'neither', fix: 'add "serial": {"baud": 19200} or "tcp": {"host": "...", "port": 502}' });
    transport = { kind: 'rtu', serial: { baudRate: 9600, dataBits: 8, parity: 'even', stopBits: 1 } };
  }
  const timeoutMs = o.opt('timeout_ms', (x) => x.int(10, 60_000, 'a timeout in ms, 10..60000')) ?? 1000;
  const pollIntervalMs = o.opt('poll_interval_ms', pollInterval) ?? 1000;
  const queueLimit = o.opt('queue_limit', (x) => x.int(1, 10_000, 'a per-unit queue limit 1..10000')) ?? 16;
  // Unit 0 is a broadcast only on a serial line; on Modbus TCP it is an ordinary address the device answers.
  const tcpUnit0 = o.opt('tcp_unit_0', (x) => (transport.kind === 'tcp' ? x.bad('no "tcp_unit_0" on a Modbus TCP device (unit 0 is an ordinary address there, passed on as it is)', 'remove "tcp_unit_0"; it applies to Modbus RTU slots only', 'refuse' as const) : x.choice(TCP_UNIT_0_MODES)));
  // Serial-line timing (Modbus over Serial Line V1.02 §2.4.1, §2.5.1.1): RTU only, absent = default.
  const rtuOnly = (key: string, what: string) =>
    o.opt(key, (x) => (transport.kind === 'tcp' ? x.bad(`no "${key}" on a Modbus TCP device`, `remove "${key}"; it applies to Modbus RTU slots only`, 0) : x.int(0, 10_000, what)));
  const turnaroundMs = rtuOnly('turnaround_ms', 'a wait after a broadcast in ms, 0..10000');
  const interRequestDelayMs = rtuOnly('inter_request_delay_ms', 'a delay between transactions in ms, 0..10000');
  const unitNodes = o.req('units').list(1, RTU_MAX_UNIT, 'units');
  const units = unitNodes.map((u) => parseUnit(u, ctx, transport.kind === 'tcp', { pollIntervalMs, timeoutMs }));
  const seen = new Map<number, number>();
  units.forEach((u, i) => {
    const first = seen.get(u.unit);
    const path = childPath(unitNodes[i]!.path, 'unit');
    if (first !== undefined) ctx.log.cross(path, { expected: 'each unit id once on a bus', found: `${u.unit} again (first at units[${first}])`, fix: 'give each slave its own address: two slaves answering one id corrupt each other’s replies' });
    else seen.set(u.unit, i);
  });
  return {
    ...base,
    driver: 'modbus-poller',
    transport,
    ...(transport.kind === 'rtu' ? { tcpUnit0: tcpUnit0 ?? 'refuse' } : {}),
    timeoutMs,
    // Defaults are left out, so writing one explicitly does not change the config digest.
    ...(turnaroundMs !== undefined && turnaroundMs !== MODBUS_BROADCAST_TURNAROUND_MS ? { turnaroundMs } : {}),
    ...(interRequestDelayMs !== undefined && interRequestDelayMs > 0 ? { interRequestDelayMs } : {}),
    pollIntervalMs,
    queueLimit,
    units,
  };
}

const KEEPALIVE_WHAT = 'seconds between MQTT keepalive pings, 1..65535';
const KEEPALIVE_ZERO_FIX = 'use 30 (the default), or up to 65535 for a quiet link: 0 turns keepalive off, and a broker lost without a TCP reset (a network partition) would never be noticed';

function parseMqtt(o: Obj, ctx: DeviceContext, base: { id: string; description?: string }): MqttBridgeDevice {
  const bNode = o.req('broker');
  const broker = bNode.text({ max: 512, what: 'a broker URL such as mqtt://10.0.0.9:1883' });
  if (broker !== '') {
    let u: URL | undefined;
    try {
      u = new URL(broker);
    } catch {
      bNode.bad('a broker URL such as mqtt://10.0.0.9:1883', 'write scheme://host:port', '');
    }
    if (u !== undefined) {
      if (!['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(u.protocol)) bNode.bad('a URL with scheme mqtt, mqtts, ws or wss', `replace ${JSON.stringify(u.protocol)} with mqtt: (or mqtts: for TLS)`, '');
      else if (u.hostname === '') bNode.bad('a broker URL with a host', 'write scheme://host:port', '');
      else if (u.username !== '' || u.password !== '') bNode.bad('a URL without credentials', 'remove user:password from the URL; use "username" and "password_file" (secrets must not end up in logs or the config digest)', '');
    }
  }
  const filters = (key: 'subscribe' | 'publish'): string[] =>
    (o.opt(key, (x) => x.list(0, 64, 'topic filters')) ?? []).map((t) => {
      const s = t.text({ max: 256, what: 'an MQTT topic filter such as plant/+/temp' });
      return s === '' || isTopicFilter(s) ? s : t.bad('an MQTT topic filter (+ is a whole level, # the whole last level)', 'e.g. plant/+/temp or alarms/#', '');
    });
  const subscribe = filters('subscribe');
  const publish = filters('publish');
  if (subscribe.length === 0 && publish.length === 0 && !o.dead && !ctx.log.hasErrorWithin(o.path)) {
    ctx.log.add(childPath(o.path, 'subscribe'), { expected: 'at least one topic filter in "subscribe" or "publish"', found: 'none', fix: 'add e.g. "subscribe": ["plant/#"]' });
  }
  const clientId = o.opt('client_id', (x) => x.text({ max: 64, pattern: /^[A-Za-z0-9_-]+$/, what: 'an MQTT client id (letters, digits, _ and -, at most 64)' }));
  const username = o.opt('username', (x) => x.text({ max: 256 }));
  const passwordFile = o.opt('password_file', (x) => ctx.resolve(x.text({ max: 1024, what: 'a file path' })));
  const caFile = o.opt('ca_file', (x) => ctx.resolve(x.text({ max: 1024, what: 'a file path' })));
  const qos = o.opt('qos', (x) => x.intChoice([0, 1, 2] as const)) ?? 1;
  return {
    ...base,
    driver: 'mqtt-bridge',
    broker,
    ...(clientId !== undefined ? { clientId } : {}),
    ...(username !== undefined ? { username } : {}),
    ...(passwordFile !== undefined ? { passwordFile } : {}),
    ...(caFile !== undefined ? { caFile } : {}),
    subscribe,
    publish,
    qos,
    maxInflight: o.opt('max_inflight', (x) => x.int(1, 1000)) ?? 16,
    maxQueue: o.opt('max_queue', (x) => x.int(1, 1_000_000)) ?? 1000,
    // MQTT 5 §1.5.5: a payload is at most 268,435,455 bytes (the remaining-length limit).
    maxPayloadBytes: o.opt('max_payload_bytes', (x) => x.int(1, 268_435_455)) ?? 65_536,
    // 0 would turn MQTT keepalive off (3.1.1 §3.1.2.10): then nothing notices a broker lost without
    // a TCP reset (a partition, a switch powered off) and the bridge waits on it for good. TCP
    // keepalive would be no substitute: its probes are answered by whatever ends the TCP connection
    // (a SOCKS or TLS proxy, a load balancer, the kernel of a host whose broker hung), and Linux
    // sends none while data is unacknowledged (retransmission then takes ~15 min). The MQTT ping is
    // answered by the broker itself. So 0 is refused; a quiet link can use up to 65535 s.
    keepaliveS: o.opt('keepalive_s', (x) => (x.value === 0 ? x.bad(KEEPALIVE_WHAT, KEEPALIVE_ZERO_FIX, 30) : x.int(1, 65_535, KEEPALIVE_WHAT))) ?? 30,
    // A persistent session (clean false) lets the broker keep the subscriptions and queue QoS >= 1
    // messages while the gateway restarts; with QoS 0 nothing would be queued anyway.
    cleanSession: o.opt('clean_session', (x) => x.bool()) ?? qos === 0,
  };
}

/**
 * A serial-line delimiter: the driver splits on its bytes in the line's encoding. latin1 has one
 * byte per character for U+0000..U+00FF only; Buffer.from keeps just the low byte of any other, so
 * "→" (U+2192) would split lines on 0x92, a byte the device never meant as one.
 */
function lineDelimiter(n: Node, encoding: 'utf8' | 'latin1'): string {
  const s = n.text({ max: 8, what: 'a delimiter of 1..8 characters, e.g. "\\r\\n"' });
  const beyond = encoding === 'latin1' ? [...s].find((c) => c.codePointAt(0)! > 0xff) : undefined;
  if (beyond === undefined) return s;
  const u = `U+${beyond.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  return n.bad(
    'a delimiter of latin1 characters U+0000..U+00FF ("encoding" is latin1: one byte per character)',
    `${u} is not a latin1 character: write the delimiter bytes as characters U+0000..U+00FF (JSON escapes such as "\\u00ff"), or use "encoding": "utf8"`,
    '',
  );
}

export function parseDevice(n: Node, ctx: DeviceContext): DeviceConfig {
  const raw = n.value;
  const rawDriver = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>).driver : undefined;
  const driver = typeof rawDriver === 'string' && (DEVICE_KINDS as readonly string[]).includes(rawDriver) ? (rawDriver as DeviceKind) : undefined;
  const o = n.obj(driver !== undefined ? KEYS[driver] : ALL_KEYS, 'a device object {"id": "...", "driver": "...", ...}');
  const id = o.req('id').text({ pattern: DEVICE_ID, max: 64, what: 'a device id such as plc-7 (letters, digits, . _ : -)' });
  const description = o.opt('description', (x) => x.text({ max: 256 }));
  const base = { id, ...(description !== undefined ? { description } : {}) };
  if (driver === undefined) {
    o.req('driver').choice(DEVICE_KINDS);
    return { ...base, driver: 'serial-raw', serial: { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1 }, maxBufferBytes: 0, idleFlushMs: 0 };
  }
  switch (driver) {
    case 'modbus-poller':
      return parseModbus(o, ctx, base);
    case 'mqtt-bridge':
      return parseMqtt(o, ctx, base);
    case 'serial-line': {
      const serial = parseSerial(o.req('serial'), 'none');
      const encoding = o.opt('encoding', (x) => x.choice(['utf8', 'latin1'] as const)) ?? 'utf8';
      const d: SerialLineDevice = {
        ...base,
        driver,
        serial,
        delimiter: o.opt('delimiter', (x) => lineDelimiter(x, encoding)) ?? '\n',
        maxLineBytes: o.opt('max_line_bytes', (x) => x.int(16, 65_536, 'a line limit 16..65536 bytes')) ?? 1024,
        encoding,
      };
      return d;
    }
    case 'serial-raw': {
      const d: SerialRawDevice = {
        ...base,
        driver,
        serial: parseSerial(o.req('serial'), 'none'),
        maxBufferBytes: o.opt('max_buffer_bytes', (x) => x.int(256, 16 * 1024 * 1024, 'a buffer size 256..16777216 bytes')) ?? 65_536,
        idleFlushMs: o.opt('idle_flush_ms', (x) => x.int(0, 10_000, 'a flush delay 0..10000 ms')) ?? 10,
      };
      return d;
    }
  }
}
