// Checks of a structurally valid config against its board and across slots: the slot exists, the
// driver fits the slot, the serial settings fit the port, no two slots share a port, a device
// path or a GPIO pin, device ids are unique, and the poll plan fits the line rate.

import { childPath, indexPath } from '../lib/json-path.js';
import type { IssueLog } from './issues.js';
import type { ParsedConfig, ParsedSlot } from './gateway-schema.js';
import { didYouMean } from './suggest.js';
import { globMatches } from './glob.js';
import { isSerialKind } from './board-schema.js';
import { estimateLineLoad } from './line-load.js';
import type { Board, BoardPort, ResolvedPort, SerialParams, SlotConfig } from './types.js';

const VIRTUAL_DIR_TOKEN = '{virtual_dir}';

/** The board port's device path for a config (the virtual board's paths live under virtual_dir). */
export function portDevicePath(port: BoardPort, virtualDir: string | undefined): string | undefined {
  if (port.device === undefined) return undefined;
  if (!port.device.startsWith(VIRTUAL_DIR_TOKEN + '/')) return port.device;
  return virtualDir === undefined ? undefined : `${virtualDir}/${port.device.slice(VIRTUAL_DIR_TOKEN.length + 1)}`;
}

function checkSerial(log: IssueLog, path: string, s: SerialParams, port: BoardPort, board: string): void {
  const why = ` (what port ${port.id} supports)`;
  const field = (k: string): string => childPath(path, k);
  if (!port.bauds.includes(s.baudRate)) {
    log.cross(field('baud'), { expected: `one of ${port.bauds.join('|')}${why}`, found: String(s.baudRate), fix: didYouMean(String(s.baudRate), port.bauds.map(String), 1) || 'set the device and the gateway to a baud rate both support' });
  }
  if (!port.dataBits.includes(s.dataBits)) log.cross(field('data_bits'), { expected: `one of ${port.dataBits.join('|')}${why}`, found: String(s.dataBits), fix: 'use 8 data bits' });
  if (!port.parities.includes(s.parity)) {
    log.cross(field('parity'), { expected: `one of ${port.parities.join('|')}${why}`, found: JSON.stringify(s.parity), fix: `use parity ${port.parities.join(' or ')} if the device allows it, or a port that has ${s.parity} parity (\`uzpgw boards show ${board}\` lists each port's settings)` });
  }
  if (!port.stopBits.includes(s.stopBits)) log.cross(field('stop_bits'), { expected: `one of ${port.stopBits.join('|')}${why}`, found: String(s.stopBits), fix: `use ${port.stopBits.join(' or ')} stop bit(s)` });
}

function serialOf(slot: ParsedSlot): { serial: SerialParams; path: string } | undefined {
  const d = slot.device;
  const dp = childPath(slot.path, 'device');
  if (d.driver === 'serial-line' || d.driver === 'serial-raw') return { serial: d.serial, path: childPath(dp, 'serial') };
  if (d.driver === 'modbus-poller' && d.transport.kind === 'rtu') return { serial: d.transport.serial, path: childPath(dp, 'serial') };
  return undefined;
}

/** Resolves each slot against the board and reports every mismatch; returns the resolved slots. */
export function crossCheck(cfg: ParsedConfig, board: Board, log: IssueLog): SlotConfig[] {
  const out: SlotConfig[] = [];
  const claimed = new Map<string, { slot: string; what: string }>();
  const pins = new Map<number, string>();
  const deviceIds = new Map<string, string>();
  const tcpUnits = new Map<string, string>();
  let virtualDirReported = false;
  const usesVirtual = board.ports.some((p) => p.device?.startsWith(VIRTUAL_DIR_TOKEN) === true);
  if (cfg.virtualDir !== undefined && !usesVirtual) {
    log.cross('virtual_dir', { expected: `no virtual_dir (board ${board.id} has real device paths)`, found: JSON.stringify(cfg.virtualDir), fix: 'remove "virtual_dir"; it applies to the virtual board only' });
  }

  for (const slot of cfg.slots) {
    const dp = childPath(slot.path, 'device');
    const bs = board.slots.find((s) => s.id === slot.id);
    if (bs === undefined) {
      const ids = board.slots.map((s) => s.id);
      log.crossEntry(slot.path, { expected: `a slot of board ${board.id} (${ids.join('|')})`, found: JSON.stringify(slot.id), fix: didYouMean(slot.id, ids) || `use one of the slots listed by \`uzpgw boards show ${board.id}\`` });
      continue;
    }
    const port = board.ports.find((p) => p.id === bs.port)!;
    const d = slot.device;
    if (!bs.kinds.includes(d.driver)) {
      const taken = new Set(cfg.slots.map((s) => s.id));
      const free = board.slots.filter((s) => s.kinds.includes(d.driver) && !taken.has(s.id)).map((s) => s.id);
      const others = free.length > 3 ? [...free.slice(0, 3), '…'] : free;
      log.cross(childPath(dp, 'driver'), {
        expected: `one of ${bs.kinds.join('|')} (the kinds slot ${slot.id} on ${port.kind} port ${port.id} takes)`,
        found: JSON.stringify(d.driver),
        fix: others.length > 0 ? `move the device to a free slot that takes ${d.driver}: ${others.join(', ')}` : `board ${board.id} has no free slot for ${d.driver}`,
      });
    }
    if (d.driver === 'mqtt-bridge' && port.kind !== 'net') {
      log.cross(childPath(dp, 'broker'), { expected: 'an MQTT bridge on a net port', found: `${port.kind} port ${port.id}`, fix: 'put the MQTT bridge on a net slot' });
    }
    if (d.driver === 'modbus-poller') {
      if (d.transport.kind === 'tcp' && port.kind !== 'net') log.cross(childPath(dp, 'tcp'), { expected: `"serial" settings (slot ${slot.id} is on ${port.kind} port ${port.id}: Modbus RTU)`, found: 'tcp settings', fix: 'replace "tcp" with "serial": {"baud": ...}, or move the device to a net slot' });
      if (d.transport.kind === 'rtu' && port.kind === 'net') log.cross(childPath(dp, 'serial'), { expected: `"tcp" settings (slot ${slot.id} is on net port ${port.id}: Modbus TCP)`, found: 'serial settings', fix: 'replace "serial" with "tcp": {"host": ..., "port": 502}, or move the device to a serial slot' });
      if (d.transport.kind === 'tcp') {
        const ep = `${d.transport.host.toLowerCase()}:${d.transport.port}`;
        d.units.forEach((u, i) => {
          const k = `${ep}#${u.unit}`;
          const first = tcpUnits.get(k);
          if (first !== undefined) log.cross(childPath(indexPath(childPath(dp, 'units'), i), 'unit'), { expected: 'each Modbus TCP endpoint and unit polled by one slot', found: `unit ${u.unit} at ${ep}, also polled by slot ${first}`, fix: 'poll it from one slot only' });
          else tcpUnits.set(k, slot.id);
        });
      }
    }
    const ser = serialOf(slot);
    if (ser !== undefined && isSerialKind(port.kind)) {
      checkSerial(log, ser.path, ser.serial, port, board.id);
      const load = estimateLineLoad(d, ser.serial);
      if (load > 1) {
        log.cross(childPath(dp, 'units'), { expected: 'a poll plan the line can carry', found: `about ${Math.round(load * 100)}% of the line time at ${ser.serial.baudRate} baud`, fix: 'lengthen poll_interval_ms, poll fewer registers, or raise the baud rate' }, 'warning');
      }
      if (d.driver === 'modbus-poller' && ser.serial.parity === 'none' && ser.serial.stopBits === 1) {
        log.cross(childPath(ser.path, 'stop_bits'), { expected: '2 stop bits without parity (Modbus over serial line v1.02 §2.5.1)', found: '1', fix: 'many devices run 8N1 anyway: match the device manual' }, 'warning');
      }
    }

    // Device path: the board's, or the slot's port_path where the port allows one.
    const pp = childPath(slot.path, 'port_path');
    let path = portDevicePath(port, cfg.virtualDir);
    if (slot.portPath !== undefined) {
      if (port.deviceGlob.length === 0) log.cross(pp, { expected: `no port_path (port ${port.id} is always ${port.device ?? 'a network port'})`, found: JSON.stringify(slot.portPath), fix: 'remove "port_path"' });
      else if (!port.deviceGlob.some((g) => globMatches(g, slot.portPath!))) log.cross(pp, { expected: `a path matching ${port.deviceGlob.join(' or ')}`, found: JSON.stringify(slot.portPath), fix: 'use the adapter’s /dev/serial/by-id/ name (`ls -l /dev/serial/by-id/`)' });
      else path = slot.portPath;
    } else if (isSerialKind(port.kind) && port.device === undefined) {
      log.cross(pp, { expected: `the device path of the adapter on port ${port.id} (${port.deviceGlob.join(' or ')})`, found: 'nothing (the field is missing)', fix: 'add "port_path": "/dev/serial/by-id/…" (see `ls -l /dev/serial/by-id/`)' });
    } else if (isSerialKind(port.kind) && path === undefined && cfg.virtualDir === undefined && !virtualDirReported) {
      virtualDirReported = true;
      log.cross('virtual_dir', { expected: `a directory for the PTYs of board ${board.id}`, found: 'nothing (the field is missing)', fix: 'add "virtual_dir": "./pty" (the harness creates the PTY links there)' });
    }

    if (isSerialKind(port.kind)) {
      const names = [`port ${port.id}`, ...(path !== undefined ? [path] : []), ...(slot.portPath === undefined ? port.aliases : [])];
      const clash = names.map((n) => ({ n, c: claimed.get(n) })).find((x) => x.c !== undefined);
      const shared = port.pins.filter((p) => pins.has(p));
      // Shared pins first: two ports on the same header pins (PL011 vs mini UART) are the physical reason.
      if (shared.length > 0) {
        log.crossEntry(slot.path, { expected: 'ports on separate GPIO pins', found: `port ${port.id} on GPIO ${shared.join(', ')}, also used by slot ${pins.get(shared[0]!)}`, fix: `these ports share header pins (see the port notes in \`uzpgw boards show ${board.id}\`): configure only one of them` });
      } else if (clash !== undefined) {
        log.crossEntry(slot.path, { expected: 'a port no other slot uses', found: `${clash.n}, already used by slot ${clash.c!.slot}`, fix: 'keep one device per serial port: a bus with several Modbus units is one slot with several "units"' });
      } else {
        names.forEach((n) => claimed.set(n, { slot: slot.id, what: n }));
        port.pins.forEach((p) => pins.set(p, slot.id));
      }
    }

    // draft §4.3: a HIL-brokered session carries the device id and Grants are scoped to it, so one
    // id must name one device; two slots sharing an id would let a Grant reach both.
    const firstId = deviceIds.get(d.id);
    if (firstId !== undefined) log.cross(childPath(dp, 'id'), { expected: 'a device id used by one slot only (Grants name it)', found: `${JSON.stringify(d.id)}, also in slot ${firstId}`, fix: 'give each device its own id' });
    else if (d.id !== '') deviceIds.set(d.id, slot.id);

    const resolved: ResolvedPort = { id: port.id, kind: port.kind, ...(path !== undefined && isSerialKind(port.kind) ? { path } : {}), rs485: port.rs485 };
    out.push({ id: slot.id, ...(slot.label !== undefined ? { label: slot.label } : {}), ...(slot.portPath !== undefined ? { portPath: slot.portPath } : {}), port: resolved, device: d });
  }

  const used = new Set(cfg.slots.flatMap((s) => (s.device.driver === 'modbus-poller' ? s.device.units.map((u) => u.profile) : [])));
  for (const p of cfg.deviceProfiles) {
    if (!used.has(p.name)) log.cross(childPath('device_profiles', p.name), { expected: 'a profile some unit uses', found: 'no unit referring to it', fix: 'reference it with "profile" in a unit, or remove it' }, 'warning');
  }
  return out;
}
