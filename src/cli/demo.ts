// `uzpgw demo`: until the HIL gateway lands (issue #3) this says so honestly and exits 0.

import { bool, helpText, parseArgs, type FlagSpecs } from './args.js';
import type { Command } from './command.js';

const FLAGS: FlagSpecs = { json: { type: 'boolean', describe: 'print JSON lines' } };
const USAGE = 'uzpgw demo [--json]';
const DESCRIPTION = 'Runs the gateway demo on an embedded default (coming with the HIL gateway issue).';

export const command: Command = {
  summary: 'run the end-to-end demo (coming with the HIL gateway)',
  async run(argv, io) {
    if (argv.includes('--help')) {
      io.stdout.write(helpText(USAGE, DESCRIPTION, FLAGS));
      return 0;
    }
    const p = parseArgs(argv, FLAGS);
    const msg = 'demo: coming — the HIL gateway (board profiles, slots, virtual serial) lands with issue #3; run `npm test` for the UZP core';
    io.stdout.write(bool(p, 'json') ? JSON.stringify({ event: 'coming', message: msg }) + '\n' : msg + '\n');
    return 0;
  },
};
