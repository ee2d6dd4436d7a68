// `uzpgw gateway --config FILE`: runs the gateway (HIL + UZP endpoint). Outbound only: it attaches
// to an RN from the RN Set Statement and never listens. JSON log lines on stdout (journald),
// audit lines to the configured file or stdout; SIGTERM/SIGINT stop it cleanly (exit 0).
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
import { defineCommand } from './define.js';
import { LOG_LEVEL_FLAG } from './log-level.js';
import { logDestination } from '../lib/log-destination.js';

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

/** --wait-enrollment: waits (interruptible by SIGTERM/SIGINT) until the enrollment files exist; false when stopped. */
async function waitUntilEnrolled(configFile: string, boardsDir: string | undefined, log: Logger): Promise<boolean> {
  // checkFiles: false: the files being waited for are exactly the ones a full check would refuse.
  const early = loadGatewayConfig(configFile, { checkFiles: false, ...(boardsDir !== undefined ? { boardsDir } : {}) });
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

/** Loads the config, starts the gateway and runs it until SIGTERM/SIGINT; SIGHUP reloads the artefact files. */
export async function runGateway(o: GatewayRun): Promise<number> {
  // Before the start-up work (the bundle measurement, the first attachments), where it would grow.
  capYoungGeneration();
  const log = pino({ base: null, level: o.level, timestamp: pino.stdTimeFunctions.isoTime }, logDestination(1, 'gateway log'));
  if (o.waitEnrollment && !(await waitUntilEnrolled(o.configFile, o.boardsDir, log))) return 0;
  const config = loadGatewayConfig(o.configFile, o.boardsDir !== undefined ? { boardsDir: o.boardsDir } : {});
  const equipment = o.equipment !== undefined ? await o.equipment(config) : undefined;
  const build = (): ReturnType<typeof createGateway> => createGateway(config, { log, ...(equipment !== undefined ? { portFactory: (slot: string) => equipment.portFactory(slot) } : {}) });
  // A wrong clock (no RTC, NTP not yet answered) is waited out, not fatal; SIGTERM meanwhile ends cleanly.
  const stop = new AbortController();
  const onSignal = (): void => stop.abort(new Error('stopped while waiting for the clock'));
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  let built: Awaited<ReturnType<typeof createGateway>>;
  try {
    built = await whenClockIsRight(build, { clock: systemClock, log, signal: stop.signal });
  } catch (e) {
    if (!stop.signal.aborted) throw e;
    equipment?.close();
    return 0;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
  const gw = built.start();
  // SIGHUP re-reads the artefact files (the directory watch usually has already): a newer revocation
  // list ends the sessions it revokes, a newer RN Set Statement is used at once (artefact-watch.ts).
  const onHup = (): void => {
    try {
      gw.reloadArtefacts();
    } catch (e) {
      log.error({ event: 'artefacts.reload_failed', error: String((e as Error).message ?? e) }, 'artefact reload failed; keeping the current ones');
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
  run: ({ flags }) => runGateway({ configFile: flags.config, level: flags['log-level'], waitEnrollment: flags['wait-enrollment'], ...(flags['boards-dir'] !== undefined ? { boardsDir: flags['boards-dir'] } : {}) }),
});
