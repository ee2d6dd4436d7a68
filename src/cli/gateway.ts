// `uzpgw gateway --config FILE`: runs the gateway (HIL + UZP endpoint). Outbound only: it attaches
// to an RN from the RN Set Statement and never listens. JSON log lines on stdout (journald),
// audit lines to the configured file or stdout; SIGTERM/SIGINT stop it cleanly (exit 0).

import { pino, type Logger } from 'pino';
import { loadGatewayConfig } from '../config/index.js';
import { Gateway } from '../gateway/gateway.js';
import { waitForEnrollment } from '../gateway/enrollment-wait.js';
import { bool, helpText, parseArgs, requireStr, str, usageError, type FlagSpecs } from './args.js';
import type { Command } from './command.js';
import type { EmbeddedEquipment } from '../demo/embedded-equipment.js';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const FLAGS: FlagSpecs = {
  config: { type: 'string', describe: 'gateway config file (JSON; see docs/CONFIG.md)', placeholder: 'FILE' },
  'log-level': { type: 'string', describe: `${LEVELS.join('|')} (default info)`, placeholder: 'LEVEL' },
  'demo-equipment': { type: 'boolean', describe: "virtual board only: run the demo's serial simulators in this process on paced memory lines instead of PTYs (`uzpgw demo` without socat)" },
  'wait-enrollment': { type: 'boolean', describe: 'while the PCert, trust anchor or RN Set Statement is missing, log it once and wait for them instead of failing (flashed boards)' },
};
const USAGE = 'uzpgw gateway --config FILE [--log-level LEVEL] [--demo-equipment] [--wait-enrollment]';
const DESCRIPTION =
  'Runs the gateway: opens the board ports of the configured slots, runs the device drivers, attaches to an RN (outbound only) and serves operator sessions under their Grants.';
/** How often --wait-enrollment looks for the enrollment files (a stat each; cheap). */
const ENROLLMENT_POLL_MS = 3000;

/** --wait-enrollment: waits (interruptible by SIGTERM/SIGINT) until the enrollment files exist; false when stopped. */
async function waitUntilEnrolled(configFile: string, log: Logger): Promise<boolean> {
  // checkFiles: false: the files being waited for are exactly the ones a full check would refuse.
  const early = loadGatewayConfig(configFile, { checkFiles: false });
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    const ready = await waitForEnrollment(early, {
      intervalMs: ENROLLMENT_POLL_MS,
      signal: stop.signal,
      onWaiting: (missing) => log.info({ event: 'gateway.waiting_enrollment', missing }, `waiting for enrollment: ${missing.join(', ')} missing (docs/FLASH.md)`),
    });
    if (ready) log.info({ event: 'gateway.enrollment_complete' }, 'enrollment files present; starting');
    return ready;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

export const command: Command = {
  summary: 'run the gateway (HIL + UZP endpoint; never listens)',
  async run(argv, io) {
    if (argv.includes('--help')) {
      io.stdout.write(helpText(USAGE, DESCRIPTION, FLAGS));
      return 0;
    }
    const p = parseArgs(argv, FLAGS);
    if (p.positionals.length > 0) throw usageError(`unexpected argument ${JSON.stringify(p.positionals[0])}`);
    const level = str(p, 'log-level') ?? 'info';
    if (!LEVELS.includes(level)) throw usageError(`--log-level: expected one of ${LEVELS.join('|')}`);
    const configFile = requireStr(p, 'config');
    const log = pino({ base: null, level, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: 1, sync: true }));
    if (bool(p, 'wait-enrollment') && !(await waitUntilEnrolled(configFile, log))) return 0;
    const config = loadGatewayConfig(configFile);
    // The demo's fallback without socat (src/demo/embedded-equipment.ts); loaded only when asked for.
    let equipment: EmbeddedEquipment | undefined;
    if (bool(p, 'demo-equipment')) {
      if (config.board !== 'virtual') throw usageError(`--demo-equipment needs board virtual, the config names ${JSON.stringify(config.board)}`);
      equipment = (await import('../demo/embedded-equipment.js')).startEmbeddedEquipment();
    }
    const gw = new Gateway(config, { log, ...(equipment ? { portFactory: (slot: string) => equipment.factoryFor(slot) } : {}) }).start();
    // SIGHUP reloads the revocation lists and ends sessions that lost their authority.
    const onHup = (): void => {
      try {
        gw.reloadRevocations();
      } catch (e) {
        log.error({ event: 'revocations.reload_failed', error: String((e as Error).message ?? e) }, 'revocation reload failed; keeping the current lists');
      }
    };
    process.on('SIGHUP', onHup);
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    process.off('SIGHUP', onHup);
    await gw.stop();
    equipment?.close();
    return 0;
  },
};
