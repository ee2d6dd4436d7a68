// `uzpgw gateway --config FILE`: runs the gateway (HIL + UZP endpoint). Outbound only: it attaches
// to an RN from the RN Set Statement and never listens. JSON log lines on stdout (journald),
// audit lines to the configured file or stdout; SIGTERM/SIGINT stop it cleanly (exit 0), and so does
// stdout's reader going away (exit 141, output-closed.ts).
// runGateway() is also what `uzpgw demo gateway` runs, with the demo's equipment (src/cli/demo.ts).

import { pino, type Level, type Logger } from 'pino';
import { loadGatewayConfig } from '../config/index.js';
import type { GatewayConfig } from '../config/types.js';
import { whenClockIsRight } from '../gateway/clock-wait.js';
import { createGateway } from '../gateway/create-gateway.js';
import { systemClock } from '../lib/clock.js';
import { capYoungGeneration } from '../lib/memory-trim.js';
import { waitForEnrollment } from '../gateway/enrollment-wait.js';
import type { PortFactory } from '../ports/serial-port-like.js';
import { boardsDirFlag } from './boards-dir.js';
import { defineCommand } from './define.js';
import { LOG_LEVEL_FLAG } from './log-level.js';
import { logDestination } from '../lib/log-destination.js';
import { stopWhenLogClosed } from './output-closed.js';

/** How often --wait-enrollment looks for the enrollment files (a stat each; cheap). */
const ENROLLMENT_POLL_MS = 3000;

/** Serial ports that replace the slots' ttys in this process; closed once the gateway has stopped. */
interface SlotEquipment {
  portFactory(slot: string): PortFactory | undefined;
  close(): void;
}

interface GatewayRun {
  readonly configFile: string;
  readonly level: Level | 'silent';
  /** Wait for missing enrollment files instead of failing (flashed boards). */
  readonly waitEnrollment: boolean;
  /** Board profiles from this directory instead of the installed ones (`uzpgw hil run`'s remapped board). */
  readonly boardsDir?: string;
  /** Builds in-process equipment for the loaded config (the demo without socat). */
  readonly equipment?: (config: GatewayConfig) => Promise<SlotEquipment>;
}

/** --wait-enrollment: waits (interruptible by `stop`) until the enrollment files exist; false when stopped. */
async function waitUntilEnrolled(configFile: string, boardsDir: string | undefined, log: Logger, stop: AbortSignal): Promise<boolean> {
  // checkFiles: false: the files being waited for are exactly the ones a full check would refuse.
  const early = loadGatewayConfig(configFile, { checkFiles: false, ...(boardsDir !== undefined ? { boardsDir } : {}) });
  const ready = await waitForEnrollment(early, {
    intervalMs: ENROLLMENT_POLL_MS,
    signal: stop,
    onWaiting: (missing) => log.info({ event: 'gateway.waiting_enrollment', missing }, `waiting for enrollment: ${missing.join(', ')} missing (docs/FLASH.md)`),
  });
  if (ready) log.info({ event: 'gateway.enrollment_complete' }, 'enrollment files present; starting');
  return ready;
}

/**
 * The process's signals for the whole run, from the first line on: SIGTERM / SIGINT ask for the
 * stop once (later ones are logged, not fatal: node's default would end the process before the last
 * commit), SIGHUP reloads the artefact files once the gateway runs and is noted before (the files
 * are read as it starts; node's default for SIGHUP ends the process). A closed stdout (the log's
 * reader went away) asks for the same stop as SIGTERM.
 */
export class RunSignals {
  readonly stop = new AbortController();
  private reload: (() => void) | undefined;
  /** stdout's reader gone (`| head -n1`, a dead log shipper): a stop as on SIGTERM, exit 141 (output-closed.ts). */
  private readonly unwatchOutput: () => void;
  private readonly onStop = (signal: NodeJS.Signals): void => {
    if (this.stop.signal.aborted) return this.log.warn({ event: 'gateway.signal_ignored', signal }, `${signal} again: already stopping`);
    this.stop.abort(new Error(`stopped by ${signal}`));
  };
  private readonly onHup = (): void => {
    if (this.reload === undefined || this.stop.signal.aborted) return this.log.info({ event: 'artefacts.reload_deferred' }, 'SIGHUP while starting or stopping: the artefact files are read as the gateway starts');
    this.reload();
  };

  constructor(private readonly log: Logger) {
    process.on('SIGTERM', this.onStop);
    process.on('SIGINT', this.onStop);
    process.on('SIGHUP', this.onHup);
    this.unwatchOutput = stopWhenLogClosed('gateway', () => this.onStop('SIGPIPE'));
  }

  /** Resolves once a stop was asked for (at once if it already was). */
  stopped(): Promise<void> {
    return new Promise((resolve) => (this.stop.signal.aborted ? resolve() : this.stop.signal.addEventListener('abort', () => resolve(), { once: true })));
  }

  onReload(f: () => void): void {
    this.reload = f;
  }

  dispose(): void {
    process.off('SIGTERM', this.onStop);
    process.off('SIGINT', this.onStop);
    process.off('SIGHUP', this.onHup);
    this.unwatchOutput();
  }
}

/** Loads the config, starts the gateway and runs it until SIGTERM/SIGINT; SIGHUP reloads the artefact files. */
export async function runGateway(o: GatewayRun): Promise<number> {
  // Before the start-up work (the bundle measurement, the first attachments), where it would grow.
  capYoungGeneration();
  const log = pino({ base: null, level: o.level, timestamp: pino.stdTimeFunctions.isoTime }, logDestination(1, 'gateway log'));
  const signals = new RunSignals(log);
  try {
    return await run(o, log, signals);
  } finally {
    signals.dispose();
  }
}

async function run(o: GatewayRun, log: Logger, signals: RunSignals): Promise<number> {
  const stop = signals.stop;
  if (o.waitEnrollment && !(await waitUntilEnrolled(o.configFile, o.boardsDir, log, stop.signal))) return 0;
  const config = loadGatewayConfig(o.configFile, o.boardsDir !== undefined ? { boardsDir: o.boardsDir } : {});
  const equipment = o.equipment !== undefined ? await o.equipment(config) : undefined;
  const build = (): ReturnType<typeof createGateway> => createGateway(config, { log, ...(equipment !== undefined ? { portFactory: (slot: string) => equipment.portFactory(slot) } : {}) });
  // A wrong clock (no RTC, NTP not yet answered) is waited out, not fatal; SIGTERM meanwhile ends cleanly.
  let built: Awaited<ReturnType<typeof createGateway>>;
  try {
    built = await whenClockIsRight(build, { clock: systemClock, log, signal: stop.signal });
  } catch (e) {
    if (!stop.signal.aborted) throw e;
    equipment?.close();
    return 0;
  }
  // Started even when a stop came during the build (a TPM opening, an AK made on the first start):
  // started and stopped at once, everything the build opened is closed the one way it knows.
  const gw = built.start();
  // SIGHUP re-reads the artefact files (the directory watch usually has already): a newer revocation
  // list ends the sessions it revokes, a newer RN Set Statement is used at once (artefact-watch.ts).
  signals.onReload(() => {
    try {
      gw.reloadArtefacts();
    } catch (e) {
      log.error({ event: 'artefacts.reload_failed', error: String((e as Error).message ?? e) }, 'artefact reload failed; keeping the current ones');
    }
  });
  await signals.stopped();
  await gw.stop();
  equipment?.close();
  return 0;
}

export const command = defineCommand({
  name: 'gateway',
  summary: 'run the gateway (HIL + UZP endpoint; never listens)',
  description:
    'Runs the gateway: opens the board ports of the configured slots, runs the device drivers, attaches to an RN (outbound only) and serves operator sessions under their Grants.',
  flags: {
    config: { type: 'string', placeholder: 'FILE', required: true, describe: 'gateway config file (JSON; see docs/CONFIG.md)' },
    ...LOG_LEVEL_FLAG,
    'boards-dir': { type: 'string', placeholder: 'DIR', describe: 'board profiles from DIR instead of the installed ones (what `uzpgw hil run` uses for a real board remapped to PTYs)' },
    'wait-enrollment': { type: 'boolean', describe: 'while the PCert, trust anchor or RN Set Statement is missing, log it once and wait for them instead of failing (flashed boards)' },
  },
  json: 'stdout is always JSON lines (pino log records, and audit lines unless the config names a file); accepted so every command takes it',
  run: ({ flags }) => {
    const boardsDir = boardsDirFlag('boards-dir', flags['boards-dir']);
    return runGateway({ configFile: flags.config, level: flags['log-level'], waitEnrollment: flags['wait-enrollment'], ...(boardsDir !== undefined ? { boardsDir } : {}) });
  },
});
