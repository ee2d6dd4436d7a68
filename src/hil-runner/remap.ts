// The user's gateway config as `uzpgw hil run` runs it (issue #15): the same slots, devices,
// profiles and line settings, with everything that points outside the run pointed inside it.
// Each change is listed in `notes`, which the run's report prints ("remapped ..."), so a user
// never mistakes the remapped run for their config as it stands.
//
//   identity, trust   the run's throwaway domain (domain.ts); revocation lists dropped
//   board             virtual: virtual_dir = the run's PTY directory; a real board: a copy of its
//                     profile in the run's boards directory, each serial slot's port moved to
//                     {virtual_dir}/<slot> (a PTY has no transceiver: RS-485 direction auto, no
//                     device globs), so the board's own rules (bauds, kinds, slots) still apply
//   port_path         dropped (a /dev path of the real machine)
//   mqtt-bridge       broker = the run's broker; TLS and credentials dropped (a loopback broker)
//   Modbus TCP        the slot is left out (no serial line to simulate; its host is not loopback)
//   reading_log       in the run's directory; publish (collectors) and attestation left out
//   audit             a file named there moves to the run's directory

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BOARDS_DIR, type Board, type GatewayConfig } from '../config/index.js';
import { FILES } from './domain.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

export interface RemapInput {
  /** The user's config text (already validated: `config` is what it parsed to). */
  readonly text: string;
  readonly config: GatewayConfig;
  readonly board: Board;
  /** The run's directory: the domain (FILES), the PTYs, the remapped config and board. */
  readonly runDir: string;
  readonly ptyDir: string;
  /** The run's MQTT broker, when the config has MQTT slots. */
  readonly brokerUrl?: string;
  readonly boardsDir?: string;
}

export interface Remapped {
  readonly configFile: string;
  /** Set when the board profile was copied (a real board): the gateway's --boards-dir. */
  readonly boardsDir?: string;
  /** Slots left out of the run, with why. */
  readonly skipped: readonly { readonly slot: string; readonly why: string }[];
  readonly notes: readonly string[];
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function remapConfig(i: RemapInput): Remapped {
  const root = JSON.parse(i.text) as JsonObject;
  const at = (f: string): string => join(i.runDir, f);
  const notes: string[] = [];
  const skipped: { slot: string; why: string }[] = [];

  root.identity = { key: at(FILES.gatewayKey), pcert: at(FILES.gatewayPcert) };
  root.trust = { anchor: at(FILES.trust), rn_set: at(FILES.rnSet) };
  notes.push('identity and trust: a throwaway trust domain made for this run (your keys and PCerts are not read)');
  if (root.publish !== undefined) notes.push('publish: left out (the run has no collector)');
  delete root.publish;
  if (root.attestation !== undefined) notes.push('attestation: left out (the run measures no installed bundle)');
  delete root.attestation;
  root.reading_log = { ...(isObject(root.reading_log) ? root.reading_log : {}), file: at('readings.db') };
  // An audit file moves into the run; without one, audit lines stay on the gateway's stdout.
  if (isObject(root.audit) && root.audit.file !== undefined) root.audit = { ...root.audit, file: at('audit.log') };

  const slots = root.slots as JsonObject;
  for (const s of i.config.slots) {
    const node = slots[s.id] as JsonObject;
    const d = node.device as JsonObject;
    if (node.port_path !== undefined) {
      notes.push(`${s.id}: port_path ${String(node.port_path)} dropped (the slot's PTY is used)`);
      delete node.port_path;
    }
    if (s.device.driver === 'modbus-poller' && s.device.transport.kind === 'tcp') {
      const why = 'Modbus TCP: no serial line to simulate, and its host is not on this machine';
      skipped.push({ slot: s.id, why });
      notes.push(`${s.id}: left out (${why})`);
      delete slots[s.id];
      continue;
    }
    if (s.device.driver === 'mqtt-bridge') {
      notes.push(`${s.id}: broker ${s.device.broker} -> ${i.brokerUrl ?? '(none)'}`);
      d.broker = i.brokerUrl ?? 'mqtt://127.0.0.1:1';
      for (const k of ['username', 'password_file', 'ca_file']) delete d[k];
    }
  }

  root.virtual_dir = i.ptyDir;
  let boardsDir: string | undefined;
  if (i.board.id === 'virtual') notes.push(`board virtual: virtual_dir -> ${i.ptyDir}`);
  else boardsDir = copyBoard(i, slots, at('boards'), notes);
  const configFile = at('gateway.json');
  writeFileSync(configFile, JSON.stringify(root, null, 2));
  return { configFile, ...(boardsDir !== undefined ? { boardsDir } : {}), skipped, notes };
}

/** The real board's profile, each serial slot's port moved to its PTY under {virtual_dir}; returns the directory. */
function copyBoard(i: RemapInput, slots: JsonObject, boardsDir: string, notes: string[]): string {
  mkdirSync(boardsDir, { recursive: true });
  const board = JSON.parse(readFileSync(join(i.boardsDir ?? BOARDS_DIR, `${i.board.id}.json`), 'utf8')) as JsonObject;
  const ports = board.ports as JsonObject[];
  for (const s of i.config.slots) {
    if (s.port.path === undefined || slots[s.id] === undefined) continue;
    const p = ports.find((x) => x.id === s.port.id);
    if (p === undefined) continue;
    notes.push(`${s.id}: port ${s.port.id} ${s.port.path} -> ${join(i.ptyDir, s.id)}`);
    p.device = `{virtual_dir}/${s.id}`;
    delete p.device_glob;
    delete p.aliases;
    if (isObject(p.rs485)) p.rs485 = { direction: 'auto' };
  }
  writeFileSync(join(boardsDir, `${i.board.id}.json`), JSON.stringify(board, null, 2));
  return boardsDir;
}
