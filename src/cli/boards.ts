// `uzpgw boards [show ID]`: the board profiles shipped in boards/ — which serial and network ports
// a board has, how each is enabled (the config.txt overlay line) and which slots equipment fits.

import { boardToJson, BOARDS_DIR, listBoards, loadBoard, type Board, type BoardPort } from '../config/index.js';
import { bool, helpText, parseArgs, str, usageError, type FlagSpecs } from './args.js';
import type { Command } from './command.js';

const FLAGS: FlagSpecs = {
  json: { type: 'boolean', describe: 'print one JSON object' },
  dir: { type: 'string', describe: 'read board profiles from DIR instead of the shipped boards/', placeholder: 'DIR' },
};
const USAGE = 'uzpgw boards [--json] | uzpgw boards show ID [--json]';
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
  const out = [`${b.id} — ${b.name}`, `  ${b.summary}`, `  oemid ${b.oemid}, hwmodel ${JSON.stringify(b.hwmodel)}, hwversion ${b.hwversion}`, `  docs: ${b.docs}`, '', 'ports:'];
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

export const command: Command = {
  summary: 'list board profiles, or show one (ports, overlays, slots)',
  async run(argv, io) {
    if (argv.includes('--help') || argv.includes('-h')) {
      io.stdout.write(helpText(USAGE, DESCRIPTION, FLAGS));
      return 0;
    }
    const p = parseArgs(argv, FLAGS);
    const dir = str(p, 'dir') ?? BOARDS_DIR;
    const json = bool(p, 'json');
    const [sub, id, ...extra] = p.positionals;
    if (sub === undefined) {
      const boards = listBoards(dir);
      const summary = boards.map((b) => ({ id: b.id, name: b.name, summary: b.summary, oemid: b.oemid, hwmodel: b.hwmodel, hwversion: b.hwversion, ports: b.ports.length, slots: b.slots.length }));
      io.stdout.write(json ? JSON.stringify({ boards: summary }) + '\n' : renderList(boards));
      return 0;
    }
    if (sub !== 'show') throw usageError(`unknown subcommand ${JSON.stringify(sub)}; run \`uzpgw boards --help\``);
    if (id === undefined) throw usageError('boards show needs a board id (`uzpgw boards` lists them)');
    if (extra.length > 0) throw usageError(`unexpected argument ${JSON.stringify(extra[0])}`);
    const board = loadBoard(id, dir);
    io.stdout.write(json ? JSON.stringify(boardToJson(board)) + '\n' : renderBoard(board));
    return 0;
  },
};
