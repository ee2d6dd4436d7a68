// The schema of a board profile (boards/<id>.json): the board's serial and network ports, how
// each is enabled (the config.txt overlay line in `docs`), and the slots equipment can occupy.

import { childPath } from '../lib/json-path.js';
import type { IssueLog } from './issues.js';
import { Node } from './node.js';
import { didYouMean } from './suggest.js';
import { BOARD_ARCHES, DEVICE_KINDS, PARITIES, PORT_KINDS, type Board, type BoardArch, type BoardPort, type BoardSlot, type DeviceKind, type Rs485Control } from './types.js';

export const BOARD_KIND = 'uzp-gw/board';
export const BOARD_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;
export const SLOT_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const PORT_ID = SLOT_ID;
const DEVICE_PATH = /^(?!.*\/\.\.?(?:\/|$))(?:\/dev\/[A-Za-z0-9._+:\\/-]+|\{virtual_dir\}\/[A-Za-z0-9._-]+)$/;
const DEVICE_GLOB = /^\/dev\/[A-Za-z0-9._+:/*?-]+$/;
/** The bauds Linux termios knows by name (B50..B4000000); a board lists the ones its UART does. */
export const MAX_BAUD = 4_000_000;
const SERIAL_KINDS: readonly string[] = ['uart', 'usb-serial', 'rs485'];

export function isSerialKind(kind: string): boolean {
  return SERIAL_KINDS.includes(kind);
}

function parseRs485(n: Node, portKind: string): Rs485Control {
  const o = n.obj(['direction', 'rts_active_low', 'delay_before_send_ms', 'delay_after_send_ms'], 'an object {"direction": "none"|"auto"|"rts", ...}');
  const allowed = portKind === 'rs485' ? (['rts', 'auto'] as const) : (['none', 'rts', 'auto'] as const);
  const direction = o.req('direction').choice<'none' | 'rts' | 'auto'>(allowed, portKind === 'rs485' ? ' (an rs485 port needs direction control)' : '');
  if (direction !== 'rts') {
    for (const k of ['rts_active_low', 'delay_before_send_ms', 'delay_after_send_ms']) o.notApplicable(k, 'it applies to direction "rts" only');
    return { direction };
  }
  return {
    direction,
    rtsActiveLow: o.opt('rts_active_low', (x) => x.bool()) ?? false,
    delayBeforeSendMs: o.opt('delay_before_send_ms', (x) => x.int(0, 1000)) ?? 0,
    delayAfterSendMs: o.opt('delay_after_send_ms', (x) => x.int(0, 1000)) ?? 0,
  };
}

function increasing(nodes: Node[], read: (n: Node) => number, what: string): number[] {
  const out: number[] = [];
  for (const n of nodes) {
    const v = read(n);
    if (out.length > 0 && v <= out[out.length - 1]! && n.present) n.bad(`${what} in increasing order without repeats`, 'sort the list and drop duplicates', 0);
    out.push(v);
  }
  return out;
}

function parsePort(n: Node): BoardPort {
  const o = n.obj(['id', 'kind', 'device', 'aliases', 'device_glob', 'interface', 'bauds', 'data_bits', 'parities', 'stop_bits', 'rs485', 'pins', 'docs', 'notes']);
  const id = o.req('id').text({ pattern: PORT_ID, max: 64, what: 'a port id such as uart0 or rs485-1 (lowercase, digits, - and _)' });
  const kind = o.req('kind').choice(PORT_KINDS);
  const docs = o.req('docs').text({ max: 512, what: 'the config.txt line(s) that enable the port, or how it appears' });
  const notes = o.opt('notes', (x) => x.text({ max: 1024 }));
  const pinNodes = o.opt('pins', (x) => x.list(0, 8, 'GPIO numbers')) ?? [];
  const pins = increasing(pinNodes, (x) => x.int(0, 63, 'a GPIO number 0..63'), 'GPIO numbers');
  const base = { id, kind, docs, ...(notes !== undefined ? { notes } : {}), pins };
  if (kind === 'net') {
    for (const k of ['device', 'aliases', 'device_glob', 'bauds', 'data_bits', 'parities', 'stop_bits', 'rs485']) o.notApplicable(k, 'a net port has no serial settings');
    const iface = o.opt('interface', (x) => x.text({ max: 15, pattern: /^[A-Za-z0-9._-]+$/, what: 'a network interface name such as eth0' }));
    return { ...base, ...(iface !== undefined ? { iface } : {}), aliases: [], deviceGlob: [], bauds: [], dataBits: [], parities: [], stopBits: [], rs485: { direction: 'none' } };
  }
  o.notApplicable('interface', 'it applies to net ports only');
  const device = o.opt('device', (x) => x.text({ pattern: DEVICE_PATH, max: 256, what: 'a device path under /dev/ (or {virtual_dir}/NAME on the virtual board)' }));
  const pathRule = { pattern: DEVICE_PATH, max: 256, what: 'a device path under /dev/' };
  const aliases = (o.opt('aliases', (x) => x.list(0, 8, 'device paths')) ?? []).map((x) => x.text(pathRule));
  const globRule = { pattern: DEVICE_GLOB, max: 256, what: 'a device path pattern under /dev/ (* and ? allowed)' };
  const deviceGlob = (o.opt('device_glob', (x) => x.list(1, 8, 'patterns')) ?? []).map((x) => x.text(globRule));
  if (device === undefined && deviceGlob.length === 0 && !o.dead) {
    n.log.add(childPath(n.path, 'device'), { expected: 'a device path (or device_glob patterns for adapters named in the config)', found: 'neither', fix: 'add "device": "/dev/ttyAMA0" or "device_glob": ["/dev/serial/by-id/*"]' });
  }
  const bauds = increasing(o.req('bauds').list(1, 32, 'bauds'), (x) => x.int(50, MAX_BAUD, `a baud rate 50..${MAX_BAUD}`), 'bauds');
  const dataBits = (o.opt('data_bits', (x) => x.list(1, 2, 'data bit counts')) ?? []).map((x) => x.intChoice([7, 8] as const));
  const parities = (o.opt('parities', (x) => x.list(1, 3, 'parities')) ?? []).map((x) => x.choice(PARITIES));
  const stopBits = (o.opt('stop_bits', (x) => x.list(1, 2, 'stop bit counts')) ?? []).map((x) => x.intChoice([1, 2] as const));
  const rs485 = kind === 'rs485' ? parseRs485(o.req('rs485'), kind) : (o.opt('rs485', (x) => parseRs485(x, kind)) ?? { direction: 'none' as const });
  return {
    ...base,
    ...(device !== undefined ? { device } : {}),
    aliases,
    deviceGlob,
    bauds,
    // Defaults: what a PL011 or a USB adapter does; the mini UART lists its narrower set.
    dataBits: dataBits.length > 0 ? dataBits : [7, 8],
    parities: parities.length > 0 ? parities : [...PARITIES],
    stopBits: stopBits.length > 0 ? stopBits : [1, 2],
    rs485,
  };
}

function parseSlot(n: Node, ports: readonly BoardPort[]): BoardSlot {
  const o = n.obj(['id', 'port', 'kinds', 'label']);
  const id = o.req('id').text({ pattern: SLOT_ID, max: 64, what: 'a slot id such as rs485-1 (lowercase, digits, - and _)' });
  const portNode = o.req('port');
  const port = portNode.text({ pattern: PORT_ID, max: 64, what: 'the id of a port of this board' });
  const p = ports.find((x) => x.id === port);
  if (p === undefined && port !== '') {
    const ids = ports.map((x) => x.id);
    portNode.bad(`one of this board's ports (${ids.join('|')})`, didYouMean(port, ids) || 'use the id of a port listed in "ports"', '');
  }
  const kindNodes = o.req('kinds').list(1, DEVICE_KINDS.length, 'device kinds');
  const kinds: DeviceKind[] = [];
  for (const k of kindNodes) {
    const kind = k.choice(DEVICE_KINDS);
    if (!k.present) continue;
    if (kinds.includes(kind)) k.bad('each device kind once', 'remove the repeat', '');
    else if (p !== undefined && p.kind === 'net' && (kind === 'serial-line' || kind === 'serial-raw')) k.bad(`a kind a net port can carry (modbus-poller|mqtt-bridge)`, `remove ${kind} or put the slot on a serial port`, '');
    else if (p !== undefined && p.kind !== 'net' && kind === 'mqtt-bridge') k.bad(`a kind a ${p.kind} port can carry (modbus-poller|serial-line|serial-raw)`, 'MQTT needs a net port: remove mqtt-bridge or put the slot on a net port', '');
    kinds.push(kind);
  }
  const label = o.opt('label', (x) => x.text({ max: 128 }));
  return { id, port, kinds, ...(label !== undefined ? { label } : {}) };
}

/** Reports the second and later items whose key repeats an earlier one (at `<item path>.<field>`). */
function unique<T>(log: IssueLog, paths: readonly string[], items: readonly T[], field: string, key: (t: T) => string | undefined, what: string): void {
  const seen = new Map<string, number>();
  items.forEach((t, i) => {
    const k = key(t);
    if (k === undefined || k === '') return;
    const first = seen.get(k);
    if (first === undefined) seen.set(k, i);
    else log.cross(childPath(paths[i]!, field), { expected: `each ${what} once`, found: `${JSON.stringify(k)} again (first at [${first}])`, fix: `give each entry its own ${what}` });
  });
}

/** The CPU architectures (Node's process.arch names) whose userland the board can run, each once. */
function parseArch(n: Node): BoardArch[] {
  const out: BoardArch[] = [];
  for (const a of n.list(1, BOARD_ARCHES.length, 'architectures')) {
    const v = a.choice(BOARD_ARCHES);
    if (!a.present) continue;
    if (out.includes(v)) a.bad('each architecture once', 'remove the repeat', '');
    else out.push(v);
  }
  return out;
}

/** Validates a parsed board file; the result is meaningful only when `log` has no errors. */
export function parseBoard(root: Node, fileStem: string): Omit<Board, 'file'> {
  const o = root.obj(['kind', 'id', 'name', 'summary', 'oemid', 'hwmodel', 'hwversion', 'arch', 'docs', 'ports', 'slots'], 'a board object');
  o.req('kind').choice([BOARD_KIND] as const);
  const idNode = o.req('id');
  const id = idNode.text({ pattern: BOARD_ID, max: 32, what: 'a board id such as rpi-4b (lowercase, digits and -)' });
  if (id !== '' && id !== fileStem) idNode.bad(`the file name's id ${JSON.stringify(fileStem)}`, `rename the file to ${id}.json or set "id": ${JSON.stringify(fileStem)}`, '');
  const name = o.req('name').text({ max: 80 });
  const summary = o.req('summary').text({ max: 512 });
  const oemid = o.req('oemid').text({ pattern: /^(?:[0-9a-f]{6}|[0-9a-f]{32})$/, max: 32, what: 'an RFC 9711 oemid: 6 lowercase hex digits (IEEE OUI) or 32 (random)' });
  const hwNode = o.req('hwmodel');
  const hwmodel = hwNode.text({ max: 32, what: 'an RFC 9711 hwmodel of at most 32 bytes' });
  if (Buffer.byteLength(hwmodel, 'utf8') > 32) hwNode.bad('an RFC 9711 hwmodel of at most 32 bytes of UTF-8', 'shorten it', '');
  const hwversion = o.req('hwversion').text({ pattern: /^\d{1,6}(?:\.\d{1,6}){0,3}$/, max: 32, what: 'a multipartnumeric version such as 1.5' });
  const arch = parseArch(o.req('arch'));
  const docs = o.req('docs').text({ max: 512 });
  const portNodes = o.req('ports').list(1, 64, 'ports');
  const ports = portNodes.map(parsePort);
  const portPaths = portNodes.map((p) => p.path);
  unique(root.log, portPaths, ports, 'id', (p) => p.id, 'port id');
  unique(root.log, portPaths, ports, 'device', (p) => p.device, 'device path');
  const slotNodes = o.req('slots').list(1, 64, 'slots');
  const slots = slotNodes.map((s) => parseSlot(s, ports));
  unique(root.log, slotNodes.map((s) => s.path), slots, 'id', (s) => s.id, 'slot id');
  return { id, name, summary, oemid, hwmodel, hwversion, arch, docs, ports, slots };
}
