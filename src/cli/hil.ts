// `uzpgw hil equipment --config FILE`: virtual equipment for every serial slot of a gateway config,
// on baud-paced PTYs, for testing a config (or your own tools: mbpoll, picocom) before flashing it
// (src/hil-runner/equipment.ts, docs/HIL.md). Runs until Ctrl-C / SIGTERM, then stops every socat
// by pid and removes the directory it made.

import { mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { FileErrorCode } from '../files/errors.js';
import { isCodedError } from '../lib/errors.js';
import { dirRemoved } from '../lib/reaper.js';
import { makeTempDir } from '../lib/temp-dir.js';
import { defineCommand, defineGroup } from './define.js';
import { usageError } from './flags.js';
import { onOutputClosed } from './output-closed.js';

const INTERRUPTS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

const equipment = defineCommand({
  name: 'hil equipment',
  summary: 'wire virtual equipment to every serial slot of a config and print the PTY paths',
  description: [
    'Reads the gateway config (its files need not exist yet) and, for every serial slot, opens a PTY',
    'paced at the slot\'s baud rate and character format with the simulator the slot\'s device expects:',
    '  modbus-poller (RTU)  one slave per configured unit, every declared register live (encoded as declared)',
    '  serial-line          a line sensor, one line a second with the slot\'s delimiter',
    '  serial-raw           an echo device',
    'MQTT and Modbus TCP slots have no serial line and are listed as not simulated.',
    'Point mbpoll, picocom, ... at the printed path. For the gateway: on board virtual, set the config\'s',
    'virtual_dir to --dir; on a real board, copy its board profile, set each serial slot\'s port device to',
    '{virtual_dir}/<slot id> in the copy, set virtual_dir to --dir and run `uzpgw gateway --boards-dir` with',
    'the copy\'s directory (docs/HIL.md). Needs socat.',
    'Runs until Ctrl-C or SIGTERM, then stops every socat by pid.',
  ].join('\n'),
  flags: {
    config: { type: 'string', placeholder: 'FILE', required: true, describe: 'the gateway config (docs/CONFIG.md)' },
    dir: { type: 'string', placeholder: 'DIR', describe: 'where the PTY links go, one per slot, named after it (default: a new temporary directory, removed at the end)' },
  },
  json: 'JSON lines: {"event":"slot","slot","kind","path"?,"baud"?,"framing"?,"units"?,"why"?} per slot, then {"event":"ready","dir","pids"}, and {"event":"stopped"} at the end',
  async run({ flags }, io) {
    const { loadGatewayConfig } = await import('../config/index.js');
    const { startEquipment } = await import('../hil-runner/equipment.js');
    const config = loadGatewayConfig(resolve(flags.config), { checkFiles: false });
    // Installed before the first socat starts: a Ctrl-C during start-up must still stop each by pid.
    let stopRequested = false;
    let wake: () => void = () => {};
    const onSignal = (): void => {
      stopRequested = true;
      wake();
    };
    for (const s of INTERRUPTS) process.on(s, onSignal);
    // A reader that closed stdout (`| head -n1`) stops it too (output-closed.ts).
    const unwatchOutput = onOutputClosed(onSignal);
    const offSignals = (): void => {
      for (const s of INTERRUPTS) process.off(s, onSignal);
      unwatchOutput();
    };
    // Removed at the end; by this process's reaper if it is killed with SIGKILL first.
    const own = flags.dir === undefined ? makeTempDir('hil-') : undefined;
    const removeOwn = (): void => {
      if (own === undefined) return;
      rmSync(own, { recursive: true, force: true });
      dirRemoved(own);
    };
    const dir = own ?? resolve(flags.dir!);
    if (own === undefined) {
      try {
        mkdirSync(dir, { recursive: true });
      } catch (e) {
        offSignals();
        // A file in the way (EEXIST) or no permission: the flag is wrong, not the program.
        throw usageError(`--dir ${flags.dir}: cannot use it as the equipment directory (${(e as NodeJS.ErrnoException).code ?? String(e)}); give a directory`);
      }
    }
    let eq;
    try {
      eq = await startEquipment(config, dir);
    } catch (e) {
      offSignals();
      removeOwn();
      if (isCodedError(e) && e.code === 'TOOL_MISSING') throw usageError(`${e.message}: install socat (sudo apt-get install socat) and try again`);
      throw e;
    }
    const out = (o: object, text: string): void => void io.stdout.write(flags.json ? JSON.stringify(o) + '\n' : text + '\n');
    for (const s of eq.slots) {
      const p = s.plan;
      if (p.kind === 'none') out({ event: 'slot', slot: p.slot, kind: 'none', why: p.why }, `${p.slot.padEnd(10)} not simulated: ${p.why}`);
      else if (p.kind === 'mqtt-machine') out({ event: 'slot', slot: p.slot, kind: p.kind, broker: p.broker, topics: p.topics }, `${p.slot.padEnd(10)} mqtt-machine on ${p.broker}: ${p.topics.join(', ')}`);
      else {
        const units = p.units !== undefined ? { units: p.units } : {};
        out({ event: 'slot', slot: p.slot, kind: p.kind, path: s.path, baud: p.baud, framing: p.framing, ...units }, `${p.slot.padEnd(10)} ${p.kind} ${p.baud} ${p.framing}${p.units ? ` units ${p.units.join(',')}` : ''}  ${s.path}`);
      }
    }
    out({ event: 'ready', dir, pids: eq.pids }, `ready: ${eq.slots.filter((s) => s.path !== undefined).length} line(s) in ${dir}; Ctrl-C stops them`);
    if (!stopRequested) await new Promise<void>((done) => (wake = done));
    offSignals();
    await eq.close();
    removeOwn();
    out({ event: 'stopped' }, 'stopped');
    return 0;
  },
});

const run = defineCommand({
  name: 'hil run',
  summary: 'run a scenario against a config: virtual equipment, an RN and the gateway, expectations and faults',
  description: [
    'For every slot of the gateway config, starts the virtual equipment it expects (Modbus RTU slaves from',
    'its units and register maps, line sensors, echo devices on PTYs paced at the slot\'s line settings;',
    'MQTT machines on a real mosquitto), then an RN and the gateway running the config remapped onto them',
    '(every change is printed), then the scenario\'s steps in order: expectations (readings, values, operator',
    'actions under a Grant, per-slave diagnostics, latency as a multiple of the line time) and faults (unplug,',
    'replug, noise, flipped bits, dead or slow slaves, broker restart, RN kill). Everything is stopped by pid',
    'at the end. Exit 0 only when every expectation held; 1 otherwise; 2 for a bad config or scenario',
    '(every problem listed with file, line, field and fix). Needs socat; MQTT slots use mosquitto when',
    'installed, else an embedded broker.',
    'Scenario format and examples: docs/HIL.md.',
  ].join('\n'),
  flags: {
    config: { type: 'string', placeholder: 'FILE', required: true, describe: 'the gateway config (docs/CONFIG.md); its key and trust files need not exist' },
    scenario: { type: 'string', placeholder: 'FILE', required: true, describe: 'the scenario (docs/HIL.md §Scenarios)' },
    junit: { type: 'string', placeholder: 'FILE', describe: 'also write a JUnit XML report there (for CI)' },
    'no-mosquitto': { type: 'boolean', describe: 'use the embedded MQTT broker even if mosquitto is installed (it is used anyway when mosquitto is missing; it cannot be restarted, so a broker-restart fault needs mosquitto)' },
  },
  json: 'JSON lines: {"event":"note","text"} for each remapping and set-up fact, {"event":"step","step","kind","title","ok","ms","message",...} per step, then {"event":"summary","scenario","ok","exit_code","failed":[...]}',
  async run({ flags }, io) {
    const { runHil } = await import('../hil-runner/run.js');
    const { virtualEquipment } = await import('../hil-runner/host.js');
    const report = await import('../hil-runner/report.js');
    const { ConfigError } = await import('../config/index.js');
    const out = (o: object, text: string): void => void io.stdout.write(flags.json ? JSON.stringify(o) + '\n' : text + '\n');
    // A report that could not be written is found out before the run, not after it.
    if (flags.junit !== undefined) (await import('./report-path.js')).checkReportPath('--junit', flags.junit);
    // Ctrl-C once: the steps left are skipped and everything stops in order; again: killed by pid now.
    const stop = new AbortController();
    const force = new AbortController();
    const onSignal = (): void => (stop.signal.aborted ? force.abort() : stop.abort());
    for (const s of INTERRUPTS) process.on(s, onSignal);
    // A reader that closed stdout (`| head -n1`) stops the run like a first Ctrl-C (output-closed.ts).
    const unwatchOutput = onOutputClosed(() => stop.abort());
    let r;
    try {
      r = await runHil({
        configFile: flags.config,
        scenarioFile: flags.scenario,
        host: virtualEquipment({ mosquitto: !flags['no-mosquitto'] }),
        stop: stop.signal,
        force: force.signal,
        onNote: (n) => out({ event: 'note', text: n }, `  note ${n}`),
        onStep: (s) => out(report.stepJson(s), report.stepLine(s)),
      });
    } catch (e) {
      if (e instanceof ConfigError) throw usageError(e.message);
      // The config or the scenario file missing or unreadable: a wrong flag, found before anything
      // started (runHil reads both first), so exit 2 like a mistake in either file.
      if (isCodedError(e) && (e.code === FileErrorCode.FILE_NOT_FOUND || e.code === FileErrorCode.FILE_INVALID || e.code === FileErrorCode.FILE_IO)) throw usageError(`${e.message}; check --config and --scenario`);
      throw e;
    } finally {
      for (const s of INTERRUPTS) process.off(s, onSignal);
      unwatchOutput();
    }
    // Written before the summary, so the summary's exit code is the one the process exits with:
    // the path was checked before the run, so this fails only if it changed since.
    let junitError: string | undefined;
    if (flags.junit !== undefined) {
      const { writeFileSync } = await import('node:fs');
      try {
        writeFileSync(resolve(flags.junit), report.junitXml(r));
      } catch (e) {
        junitError = `--junit ${flags.junit}: cannot write the report (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}) although it could be written when the run began; the verdict above stands, the report is missing`;
      }
    }
    const code = junitError !== undefined ? 2 : report.passed(r) ? 0 : 1;
    out(report.summaryJson(r, code), report.summaryLine(r));
    if (junitError !== undefined) io.stderr.write(junitError + '\n');
    return code;
  },
});

export const command = defineGroup({
  name: 'hil',
  summary: 'hardware in the loop for your own config: virtual equipment, scenarios, CI reports',
  description: 'Tests a gateway config against virtual equipment before it meets real hardware (docs/HIL.md).',
  subcommands: [run, equipment],
});
