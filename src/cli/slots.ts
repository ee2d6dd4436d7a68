// `uzpgw slots check --config FILE`: validates a gateway config against its board profile and
// lists every problem (file, line, field path, expected, found, fix). Exit 0 when the config is
// valid (warnings allowed), 1 when it has errors. Unless --no-file-check, it also warns about
// serial devices missing on this machine or not readable+writable by this user
// (config/device-paths.ts): run on the gateway, that finds a disabled UART or a missing dialout
// membership before the gateway does.

import { checkConfigFile, configDigestHex, formatIssue, BOARDS_DIR, type SerialParams, type SlotConfig } from '../config/index.js';
import { devicePathWarnings } from '../config/device-paths.js';
import { boardsDirFlag } from './boards-dir.js';
import { defineCommand, defineGroup } from './define.js';

const DESCRIPTION = [
  'Validates a gateway config: the schema (unknown keys, types, ranges), then the slots against the',
  'board (slot exists, driver fits the slot, baud/parity/stop bits fit the port, no two slots on one',
  'port or GPIO pin, unit ids 1..247 and unique per bus, registers do not overlap, profiles exist),',
  'and that the referenced files exist. Prints every problem with its file, line, field path, what',
  'was expected and how to fix it. Run on the gateway, it also warns about serial devices that are',
  'missing there or not readable+writable by the current user (UART not enabled in config.txt, user',
  'not in the dialout group). Exit status: 0 valid (warnings allowed), 1 problems found, 2 usage error.',
].join('\n');

function framing(s: SerialParams): string {
  return `${s.baudRate} ${s.dataBits}${s.parity[0]!.toUpperCase()}${s.stopBits}`;
}

function describeSlot(s: SlotConfig): string {
  const d = s.device;
  const at = s.port.path ?? s.port.id;
  switch (d.driver) {
    case 'modbus-poller': {
      const regs = d.units.reduce((n, u) => n + u.registers.length, 0);
      const units = `units ${d.units.map((u) => u.unit).join(', ')} (${regs} registers)`;
      return d.transport.kind === 'rtu' ? `${at} ${framing(d.transport.serial)}, ${units}` : `tcp ${d.transport.host}:${d.transport.port}, ${units}`;
    }
    case 'serial-line':
      return `${at} ${framing(d.serial)}, lines ending ${JSON.stringify(d.delimiter)}`;
    case 'serial-raw':
      return `${at} ${framing(d.serial)}, raw bytes`;
    case 'mqtt-bridge':
      return `${d.broker}, subscribe ${d.subscribe.join(' ') || '-'}, publish ${d.publish.join(' ') || '-'}`;
  }
}

const check = defineCommand({
  name: 'slots check',
  summary: 'validate a gateway config against its board profile',
  description: DESCRIPTION,
  flags: {
    config: { type: 'string', placeholder: 'FILE', required: true, describe: 'the gateway config file (JSON)' },
    'boards-dir': { type: 'string', placeholder: 'DIR', describe: 'read board profiles from DIR instead of the shipped boards/' },
    'no-file-check': { type: 'boolean', describe: 'do not check that key, PCert and trust files and serial devices exist (e.g. when checking on a workstation)' },
  },
  json: 'one JSON object: {ok, file, errors, warnings, board, digest, slots: [{slot, port, path?, device, driver}], issues: [...]} (board, digest and slots only when valid)',
  run({ flags }, io) {
    const file = flags.config;
    const checkFiles = !flags['no-file-check'];
    const r = checkConfigFile(file, { boardsDir: boardsDirFlag('boards-dir', flags['boards-dir']) ?? BOARDS_DIR, checkFiles });
    const issues = [...r.issues, ...(checkFiles && r.config !== undefined && r.board !== undefined ? devicePathWarnings(r.config, r.board, file) : [])];
    const errors = issues.filter((i) => i.severity === 'error');
    const warnings = issues.filter((i) => i.severity === 'warning');
    if (flags.json) {
      const c = r.config;
      const out = {
        ok: c !== undefined,
        file,
        errors: errors.length,
        warnings: warnings.length,
        ...(c !== undefined
          ? {
              board: c.board,
              digest: configDigestHex(c),
              slots: c.slots.map((s) => ({ slot: s.id, port: s.port.id, ...(s.port.path !== undefined ? { path: s.port.path } : {}), device: s.device.id, driver: s.device.driver })),
            }
          : {}),
        issues,
      };
      io.stdout.write(JSON.stringify(out) + '\n');
      return c !== undefined ? 0 : 1;
    }
    if (r.config === undefined) {
      const lines = [`${file}: ${errors.length} problem${errors.length === 1 ? '' : 's'}`, ...r.issues.map((i) => '  ' + formatIssue(i))];
      io.stdout.write(lines.join('\n') + '\n');
      return 1;
    }
    const c = r.config;
    const w = Math.max(...c.slots.map((s) => s.id.length), 4) + 2;
    const dw = Math.max(...c.slots.map((s) => s.device.id.length), 4) + 2;
    const lines = [
      `config OK: ${file}`,
      `  board:  ${c.board} (${r.board?.name ?? ''})`,
      `  digest: ${configDigestHex(c)}`,
      `  slots:`,
      ...c.slots.map((s) => `    ${s.id.padEnd(w)}${s.device.driver.padEnd(15)}${s.device.id.padEnd(dw)}${describeSlot(s)}`),
      ...(warnings.length > 0 ? [`  ${warnings.length} warning${warnings.length === 1 ? '' : 's'}:`, ...warnings.map((i) => '    ' + formatIssue(i))] : []),
    ];
    io.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
});

export const command = defineGroup({
  name: 'slots',
  summary: 'check a gateway config against its board (slots, ports, devices)',
  description: DESCRIPTION,
  subcommands: [check],
});
