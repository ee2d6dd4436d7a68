// `uzpgw demo`: the whole system on one machine, each part its own process (src/demo/run.ts).

import { bool, helpText, int, parseArgs, usageError, type FlagSpecs } from './args.js';
import type { Command } from './command.js';

const FLAGS: FlagSpecs = {
  json: { type: 'boolean', describe: 'JSON lines: {"event":"process"|"reading"|"summary",...}' },
  seconds: { type: 'string', describe: 'length of the whole run, set-up included (default 15, 3..3600)', placeholder: 'N' },
  'no-socat': { type: 'boolean', describe: 'do not use socat even if installed: the serial equipment runs embedded in the gateway process' },
  'no-mosquitto': { type: 'boolean', describe: 'do not use mosquitto even if installed: the embedded MQTT broker (loopback) is used' },
};
const USAGE = 'uzpgw demo [--seconds N] [--json] [--no-socat] [--no-mosquitto]';
const DESCRIPTION = [
  'Creates a throwaway trust domain, starts an RN, a gateway on board `virtual` and one operator per slot',
  '(`uzpgw rn|gateway|connect`, each its own process) and shows live readings from every slot: a Modbus RTU',
  'bus with two TH-20 sensors and an energy meter (rs485-1), a line sensor (tty-1) and an MQTT press (net-1).',
  'Uses socat (paced PTYs) and mosquitto when installed, else embedded defaults, and says which.',
  'Exit 0 when every slot delivered at least one reading, else 1 naming the silent slots.',
].join('\n');

export const command: Command = {
  summary: 'run the end-to-end demo: RN, gateway and operators as processes, live readings',
  async run(argv, io) {
    if (argv.includes('--help')) {
      io.stdout.write(helpText(USAGE, DESCRIPTION, FLAGS));
      return 0;
    }
    const p = parseArgs(argv, FLAGS);
    if (p.positionals.length > 0) throw usageError(`unexpected argument ${JSON.stringify(p.positionals[0])}`);
    const seconds = int(p, 'seconds', 15, 3, 3600);
    const { runDemo } = await import('../demo/run.js');
    // Ctrl-C / SIGTERM end the run early; the children are still stopped by pid and the summary printed.
    const interrupt = new AbortController();
    const onSignal = (): void => interrupt.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      return await runDemo({ seconds, json: bool(p, 'json'), socat: !bool(p, 'no-socat'), mosquitto: !bool(p, 'no-mosquitto'), out: io.stdout, signal: interrupt.signal });
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
