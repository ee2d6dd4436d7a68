// `uzpgw boards [show ID]`: the board profiles shipped in boards/ — which serial and network ports
// a board has, how each is enabled (the config.txt overlay line) and which slots equipment fits.

import { boardToJson, BOARDS_DIR, listBoards, loadBoard, type Board, type BoardPort } from '../config/index.js';
import { boardsDirFlag, knownBoardId } from './boards-dir.js';
import { defineCommand, defineGroup } from './define.js';

const DIR_FLAG = {
  dir: { type: 'string', placeholder: 'DIR', describe: 'read board profiles from DIR instead of the shipped boards/' },
} as const;
const DESCRIPTION = [
  'Lists the board profiles, or shows one with its ports (device path, bauds, RS-485 direction control,',
  'GPIO pins, the config.txt line that enables it) and its slots (the device kinds each slot takes).',
].join('\n');

function range(bauds: readonly number[]): string {
  return bauds.length === 0 ? '' : bauds.length === 1 ? `${bauds[0]} baud` : `${bauds[0]}..${bauds[bauds.length - 1]} baud (${bauds.length} rates)`;
}

function direction(p: BoardPort): string {
  const r = p.rs485;
  if (r.direction !== 'rts') return r.direction === 'auto' ? 'RS-485 direction: auto (the transceiver switches itself)' : '';
  return `RS-485 direction: RTS ${r.rtsActiveLow ? 'low' : 'high'} while sending (${r.delayBeforeSendMs} ms before, ${r.delayAfterSendMs} ms after)`;
}

function renderBoard(b: Board): string {
  const out = [`${b.id} — ${b.name}`, `  ${b.summary}`, `  oemid ${b.oemid}, hwmodel ${JSON.stringify(b.hwmodel)}, hwversion ${b.hwversion}`, `  runs: ${b.arch.join(', ')} userlands`, `  docs: ${b.docs}`, '', 'ports:'];
  const w = Math.max(...b.ports.map((p) => p.id.length)) + 2;
  for (const p of b.ports) {
    const where = p.kind === 'net' ? (p.iface ?? 'any interface') : (p.device ?? `no fixed path (port_path matching ${p.deviceGlob.join(', ')})`);
    out.push(`  ${p.id.padEnd(w)}${p.kind.padEnd(11)}${where}`);
    const pad = ' '.repeat(w + 2);
    if (p.kind !== 'net') {
      out.push(`${pad}${range(p.bauds)}; data bits ${p.dataBits.join('|')}, parity ${p.parities.join('|')}, stop bits ${p.stopBits.join('|')}`);
      if (p.aliases.length > 0) out.push(`${pad}also ${p.aliases.join(', ')}`);
      if (p.kind !== 'rs485' && p.deviceGlob.length > 0) out.push(`${pad}port_path may be ${p.deviceGlob.join(', ')}`);
    }
    const dir = direction(p);
    if (dir !== '') out.push(`${pad}${dir}`);
    if (p.pins.length > 0) out.push(`${pad}GPIO ${p.pins.join(', ')}`);
    out.push(...p.docs.split('\n').map((l, i) => `${pad}${i === 0 ? 'enable: ' : '        '}${l}`));
    if (p.notes !== undefined) out.push(`${pad}note: ${p.notes}`);
  }
  out.push('', 'slots:');
  const sw = Math.max(...b.slots.map((s) => s.id.length)) + 2;
  for (const s of b.slots) out.push(`  ${s.id.padEnd(sw)}port ${s.port.padEnd(w)}${s.kinds.join(', ')}${s.label !== undefined ? `  (${s.label})` : ''}`);
  return out.join('\n') + '\n';
}

function renderList(boards: readonly Board[]): string {
  const w = Math.max(...boards.map((b) => b.id.length)) + 2;
  const lines = boards.map((b) => `  ${b.id.padEnd(w)}${String(b.ports.length).padStart(2)} ports ${String(b.slots.length).padStart(3)} slots  ${b.name}`);
  return ['boards:', ...lines, '', 'Run `uzpgw boards show ID` for the ports, overlays and slots of one board.'].join('\n') + '\n';
}

const list = defineCommand({
  name: 'boards',
  summary: 'list the board profiles',
  description: DESCRIPTION,
  flags: DIR_FLAG,
  json: 'one JSON object: {boards: [{id, name, summary, oemid, hwmodel, hwversion, ports, slots}]} (ports and slots are counts)',
  run({ flags }, io) {
    const boards = listBoards(boardsDirFlag('dir', flags.dir) ?? BOARDS_DIR);
    const summary = boards.map((b) => ({ id: b.id, name: b.name, summary: b.summary, oemid: b.oemid, hwmodel: b.hwmodel, hwversion: b.hwversion, ports: b.ports.length, slots: b.slots.length }));
    io.stdout.write(flags.json ? JSON.stringify({ boards: summary }) + '\n' : renderList(boards));
    return 0;
  },
});

const show = defineCommand({
  name: 'boards show',
  summary: 'one board: its ports, the config.txt lines that enable them, its slots',
  description: [
    'Shows one board profile: its identity (oemid, hwmodel, hwversion, the userlands it runs), each port',
    '(device path or the paths port_path may name, bauds and character formats, RS-485 direction control,',
    'GPIO pins, the config.txt line that enables it) and each slot with the device kinds it takes.',
    'ID is a board id as `uzpgw boards` lists them.',
  ].join('\n'),
  flags: DIR_FLAG,
  args: ['ID'],
  json: 'the board profile as one JSON object, in the form of its file in boards/ (kind uzp-gw/board)',
  run({ flags, args }, io) {
    const dir = boardsDirFlag('dir', flags.dir) ?? BOARDS_DIR;
    const board = loadBoard(knownBoardId(args[0]!, dir), dir);
    io.stdout.write(flags.json ? JSON.stringify(boardToJson(board)) + '\n' : renderBoard(board));
    return 0;
  },
});

export const command = defineGroup({
  name: 'boards',
  summary: 'list board profiles, or show one (ports, overlays, slots)',
  description: DESCRIPTION,
  default: list,
  subcommands: [show],
});
