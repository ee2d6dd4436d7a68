// `uzpgw demo`: the whole system on one machine, each part its own process (src/demo/run.ts).
// `uzpgw demo gateway` (internal, hidden from help): the gateway the demo starts when socat is
// missing, running the demo's serial simulators in its own process. It lives here because only
// this command may import src/demo/ (docs/ARCHITECTURE.md §Layers): `uzpgw gateway` knows nothing
// of the demo.

import { defineCommand, defineGroup } from './define.js';
import { usageError } from './flags.js';
import { LOG_LEVEL_FLAG } from './log-level.js';
import { exitStatus, onOutputClosed } from './output-closed.js';

const DESCRIPTION = [
  'Creates a throwaway trust domain, starts an RN, a gateway on board `virtual` and one operator per slot',
  '(`uzpgw rn|gateway|connect`, each its own process) and shows live readings from every slot: a Modbus RTU',
  'bus with two TH-20 sensors and an energy meter (rs485-1), a line sensor (tty-1) and an MQTT press (net-1).',
  'Uses socat (paced PTYs) and mosquitto when installed, else embedded defaults, and says which.',
  'On a terminal, one line per slot is updated in place (readings, age of the last one, its value) with',
  'events (starts, connections, refusals, errors) below; elsewhere one line per reading.',
  'Ctrl-C stops everything (by pid) and removes the temporary directory; a second Ctrl-C forces it.',
  'Exit 0 when every slot delivered at least one reading, else 1 naming the silent slots; 141 (everything',
  'stopped as on Ctrl-C) when the reader of stdout went away (`uzpgw demo --json | head`).',
].join('\n');

const INTERRUPTS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/** How long the process may linger after the run has cleaned up before it exits regardless. */
const LINGER_MS = 500;

/**
 * When runDemo returns, every child is stopped, the directory is removed and the summary printed;
 * the process normally exits at once. A third-party client it hosted (mqtt.js, serialport) may
 * still hold the event loop, waiting for a peer that Ctrl-C killed: it must not keep the demo on
 * screen, so after a short grace the process exits anyway, and says so on stderr (a leak to fix).
 * The timer is unref'd: it never delays a process that exits on its own.
 */
function exitSoonAnyway(code: number, stderr: NodeJS.WritableStream): void {
  setTimeout(() => {
    stderr.write(`uzpgw demo: still busy ${LINGER_MS} ms after cleaning up (${process.getActiveResourcesInfo().join(', ') || 'nothing visible'}); exiting\n`);
    process.exit(exitStatus(code));
  }, LINGER_MS).unref();
}

const run = defineCommand({
  name: 'demo',
  summary: 'run the end-to-end demo: RN, gateway and operators as processes, live readings',
  description: DESCRIPTION,
  flags: {
    seconds: { type: 'int', placeholder: 'N', min: 3, max: 3600, default: 15, describe: 'seconds of live readings, counted once every slot has delivered its first reading (waited for up to 20 s after the set-up)' },
    'no-socat': { type: 'boolean', describe: 'do not use socat even if installed: the serial equipment runs embedded in the gateway process' },
    'no-mosquitto': { type: 'boolean', describe: 'do not use mosquitto even if installed: the embedded MQTT broker (loopback) is used' },
  },
  json: 'JSON lines: {"event":"process"|"reading"|"summary",...}',
  async run({ flags }, io) {
    // Installed before anything else and kept until the run has cleaned up: a Ctrl-C must never
    // meet SIGINT's default action (death on the spot), which would leave the temporary directory,
    // root key included, behind. The first interrupt stops the run, a second forces the stop;
    // SIGHUP (the terminal went away) counts as one too.
    const pending: string[] = [];
    let deliver: ((signal: string) => void) | undefined;
    const onSignal = (signal: NodeJS.Signals): void => (deliver !== undefined ? deliver(signal) : void pending.push(signal));
    for (const s of INTERRUPTS) process.on(s, onSignal);
    // A reader that closed stdout (`demo --json | head -n1`) is an interrupt too: the run stops in
    // order, its children by pid, and the process exits 141 (output-closed.ts).
    const unwatchOutput = onOutputClosed(() => onSignal('SIGPIPE'));
    try {
      const { runDemo } = await import('../demo/run.js');
      const code = await runDemo({
        seconds: flags.seconds,
        json: flags.json,
        socat: !flags['no-socat'],
        mosquitto: !flags['no-mosquitto'],
        out: io.stdout,
        interrupts: (fn) => {
          deliver = fn;
          for (const s of pending.splice(0)) fn(s);
          return () => (deliver = undefined);
        },
      });
      exitSoonAnyway(code, io.stderr);
      return code;
    } finally {
      for (const s of INTERRUPTS) process.off(s, onSignal);
      unwatchOutput();
    }
  },
});

const gateway = defineCommand({
  name: 'demo gateway',
  summary: "internal: the demo's gateway with its serial simulators in-process (no socat)",
  description: [
    'Runs `uzpgw gateway` with the demo\'s serial equipment in this process: each simulator behind a',
    'baud-paced memory line instead of a PTY (src/demo/embedded-equipment.ts). Board `virtual` only.',
    '`uzpgw demo` starts it when socat is missing; not meant to be run by hand.',
  ].join('\n'),
  hidden: true,
  flags: {
    config: { type: 'string', placeholder: 'FILE', required: true, describe: 'the gateway config the demo wrote (board virtual)' },
    ...LOG_LEVEL_FLAG,
  },
  json: 'stdout is always JSON lines (pino log records); accepted so every command takes it',
  async run({ flags }) {
    const { runGateway } = await import('./gateway.js');
    return runGateway({
      configFile: flags.config,
      level: flags['log-level'],
      waitEnrollment: false,
      equipment: async (config) => {
        if (config.board !== 'virtual') throw usageError(`the demo's equipment needs board virtual, the config names ${JSON.stringify(config.board)}`);
        const eq = (await import('../demo/embedded-equipment.js')).startEmbeddedEquipment();
        return { portFactory: (slot) => eq.factoryFor(slot), close: () => eq.close() };
      },
    });
  },
});

export const command = defineGroup({
  name: 'demo',
  summary: run.summary,
  description: DESCRIPTION,
  default: run,
  subcommands: [gateway],
});
