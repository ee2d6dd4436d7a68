// `uzpgw hil run`, the orchestrator (issue #15, docs/HIL.md), and the demo's engine: for a gateway
// config and a scenario, in a temporary directory —
//   1. a throwaway trust domain (domain.ts);
//   2. the equipment (host.ts: virtual equipment for every slot on PTYs paced at the slot's line
//      settings and a real mosquitto for MQTT slots; the demo brings its own host);
//   3. an RN and the gateway, each its own `uzpgw` process, the gateway running the config remapped
//      onto all of that (remap.ts, every change reported);
//   4. an operator session with a tail on every slot that produces readings (run-operator.ts), and
//      whatever operators the caller adds (the demo's `uzpgw connect` processes);
//   5. the scenario's steps, in order (steps.ts);
//   6. the stop: operators, then gateway and RN (SIGTERM, SIGKILL by pid at a shared deadline), then
//      the equipment; the directory (it holds the domain's root key) is removed.
// The verdict is the report's (report.ts): every expectation held and every step carried out.

import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { checkConfigText, ConfigError, MAX_CONFIG_FILE } from '../config/index.js';
import { CommonCode, isCodedError } from '../lib/errors.js';
import { dirRemoved } from '../lib/reaper.js';
import { makeTempDir } from '../lib/temp-dir.js';
import { readFileCapped } from '../files/fsutil.js';
import { utf8Text } from '../files/json.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { nodeProvider } from '../uzp/crypto/node.js';
import { CliChild, stopInOrder, type Role } from './children.js';
import { createDomain, FILES, issueGrant, issueRnSet, type ThrowawayDomain } from './domain.js';
import { virtualEquipment, type EquipmentHost, type HostedEquipment } from './host.js';
import { pause } from './pause.js';
import { ReadingStore } from './reading-store.js';
import { remapConfig } from './remap.js';
import { passed, type RunReport, type SkippedStep } from './report.js';
import { allPurposes, RunOperator } from './run-operator.js';
import { loadScenario, type Scenario } from './scenario.js';
import { runStep, skippedStep, type RunContext, type StepResult } from './steps.js';

/** What a caller can add once RN and gateway are up (the demo's operator processes). */
export interface RunStack {
  readonly dir: string;
  readonly domain: ThrowawayDomain;
  readonly store: ReadingStore;
  /** Starts `uzpgw args…`, stopped with the run (operators first). */
  start(role: Role, label: string, args: readonly string[]): Promise<CliChild>;
}

export interface HilRunOptions {
  readonly configFile: string;
  /** The scenario: a file (validated against the config) or one built in code (the demo's). */
  readonly scenarioFile?: string;
  readonly scenario?: Scenario;
  readonly provider?: CryptoProvider;
  /** The temporary directory's name after `uzpgw-` (default `hil-run-`: `uzpgw-hil-run-XXXXXX`). */
  readonly dirPrefix?: string;
  /** The throwaway domain's name (default `hil`: domain hil.uzp, PCerts hil-gw, hil-operator). */
  readonly domainName?: string;
  /** Default: virtual equipment from the config (socat, mosquitto). */
  readonly host?: EquipmentHost;
  /** The run's own operator tails feed the expectations; false when the caller's operators do (the demo). */
  readonly operatorTails?: boolean;
  /** Called once RN and gateway are up, before the first step. */
  readonly withStack?: (s: RunStack) => Promise<void>;
  readonly onStep?: (r: StepResult) => void;
  readonly onNote?: (note: string) => void;
  readonly onChild?: (c: CliChild) => void;
  /** The stop is starting (the demo says so on its screen). */
  readonly onStopping?: () => void;
  /**
   * Aborts start-up and ends waits at once. The steps left are then skipped (`hil run` on Ctrl-C),
   * or with `judgeOnStop` run without waiting, on what was seen (the demo's deadline).
   */
  readonly stop?: AbortSignal;
  readonly judgeOnStop?: boolean;
  /** Aborted: kill everything now, by pid (a second Ctrl-C), and remove the directory. */
  readonly force?: AbortSignal;
}

export interface HilRun extends RunReport {
  /** Every process the run started, and how it ended. */
  readonly processes: readonly { readonly role: Role; readonly label: string; readonly pid: number; readonly exit: number | string | null }[];
  readonly tools: readonly { readonly name: string; readonly pid: number }[];
  readonly dir: string;
  /** Children that needed SIGKILL at the stop deadline. */
  readonly killed: readonly string[];
  readonly stopMs: number;
}

/** Start-up waits never exceed this (a hang guard, not a timing claim). */
const START_TIMEOUT_MS = 20_000;
/** Children get SIGTERM, then SIGKILL at this deadline (one for all of them). */
const CHILD_STOP_MS = 2000;
/** How much of a child's stderr a report of its death quotes. */
const STDERR_TAIL_LINES = 10;
const DRIVERS_WITH_READINGS = new Set(['modbus-poller', 'serial-line', 'mqtt-bridge']);

/**
 * Validates config and scenario (throws ConfigError listing every problem of either, before
 * anything starts); then runs and always stops what it started.
 */
export async function runHil(o: HilRunOptions): Promise<HilRun> {
  const configFile = resolve(o.configFile);
  const text = utf8Text(readFileCapped(o.configFile, MAX_CONFIG_FILE, 'gateway config').bytes, o.configFile, CommonCode.CONFIG_INVALID);
  // The config's own files (keys, trust) are not needed: the run makes its own.
  const checked = checkConfigText(text, configFile, { checkFiles: false });
  if (checked.config === undefined || checked.board === undefined) throw new ConfigError(o.configFile, checked.issues);
  const config = checked.config;
  const scenario: Scenario = o.scenario ?? loadScenario(o.scenarioFile ?? '', config);
  const provider = o.provider ?? nodeProvider;
  const stop = o.stop ?? new AbortController().signal;
  const t0 = performance.now();
  const notes: string[] = [];
  const note = (n: string): void => {
    notes.push(n);
    o.onNote?.(n);
  };
  const steps: StepResult[] = [];
  const skipped: SkippedStep[] = [];
  let setupError: string | undefined;

  // An exit hook for an ordinary end or a crash; the reaper for SIGKILL, which runs no hook; the
  // sweep at a later run's start when the reaper was killed too (lib/temp-sweep.ts).
  const dir = makeTempDir(o.dirPrefix ?? 'hil-run-');
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);
  const at = (f: string): string => join(dir, f);
  const children: CliChild[] = [];
  const store = new ReadingStore();
  let equipment: HostedEquipment | undefined;
  let operator: RunOperator | undefined;
  let tools: HostedEquipment['tools'] = [];
  let killed: CliChild[] = [];
  let stopMs = 0;
  // The gateway or the RN exiting on its own (not the rn-kill fault, not the stop) ends the run:
  // the steps left would only wait out their time and blame failover for it.
  const died = new AbortController();
  // Set from the exit listener: read through a function, which TypeScript does not narrow.
  let deathText: { text: string; label: string } | undefined;
  const death = (): { text: string; label: string } | undefined => deathText;
  let stopping = false;
  const expectedExit = new Set<CliChild>();
  const watch = (c: CliChild): void => {
    void c.exited.then(({ code, signal }) => {
      if (stopping || expectedExit.has(c) || deathText !== undefined) return;
      const tail = c.stderr().trim().split('\n').slice(-STDERR_TAIL_LINES).join('\n');
      deathText = { label: c.label, text: `the ${c.label} exited on its own (${signal !== null ? `signal ${signal}` : `exit code ${code}`})${tail !== '' ? `; its stderr ends:\n${tail}` : '; its stderr is empty'}` };
      note(deathText.text);
      died.abort();
    });
  };
  const start = async (role: Role, label: string, args: readonly string[]): Promise<CliChild> => {
    const c = await CliChild.start(role, label, args);
    if (role !== 'operator') watch(c);
    children.push(c);
    o.onChild?.(c);
    return c;
  };
  const onForce = (): void => {
    for (const c of children) c.kill();
    equipment?.forceStop();
    removeDir();
  };
  o.force?.addEventListener('abort', onForce, { once: true });
  try {
    stop.throwIfAborted();
    // Said first: the directory exists now and holds the root key until the run removes it.
    note(`throwaway trust domain in ${dir}`);
    const domain = createDomain(provider, dir, Date.now(), o.domainName ?? 'hil');
    const ptyDir = at('pty');
    mkdirSync(ptyDir);
    equipment = await (o.host ?? virtualEquipment()).start(config, ptyDir, { intervalMs: scenario.intervalMs, note });
    stop.throwIfAborted();

    let rnAddress = '127.0.0.1:0';
    const startRn = async (): Promise<void> => {
      const rn = await start('rn', 'rn', ['rn', '--listen', rnAddress, '--trust', at(FILES.trust), '--key', at(FILES.rnKey), '--log-level', 'warn']);
      const listening = await rn.waitForJson((v) => v.event === 'listening', START_TIMEOUT_MS, 'its listening line', stop);
      rnAddress = String(listening.address);
    };
    await startRn();
    note(`RN listening on ${rnAddress} (the only listener besides the equipment's broker)`);
    issueRnSet(provider, domain, rnAddress, Date.now());

    const remapped = remapConfig({ text, config, board: checked.board, runDir: dir, ptyDir, ...(equipment.brokerUrl !== undefined ? { brokerUrl: equipment.brokerUrl } : {}) });
    for (const n of remapped.notes) note(`remapped: ${n}`);
    const gwArgs = [...equipment.gatewayCommand, '--config', remapped.configFile, '--log-level', 'info', ...(remapped.boardsDir !== undefined ? ['--boards-dir', remapped.boardsDir] : [])];
    const gateway = await start('gateway', 'gateway', gwArgs);
    await gateway.waitForJson((v) => v.event === 'rn.attached', START_TIMEOUT_MS, 'its RN attachment', stop);
    note('gateway attached to the RN (outbound link; it listens on nothing)');

    const runSlots = config.slots.filter((s) => !remapped.skipped.some((k) => k.slot === s.id));
    const grant = (): string => issueGrant(provider, domain, { name: 'operator-all', purposes: allPurposes(runSlots), slots: runSlots.map((s) => s.id), nowMs: Date.now() });
    const tailed = o.operatorTails === false ? [] : runSlots.filter((s) => DRIVERS_WITH_READINGS.has(s.device.driver)).map((s) => s.id);
    operator = new RunOperator(provider, domain, tailed, grant, store, stop);
    if (tailed.length > 0) await operator.session();
    await o.withStack?.({ dir, domain, store, start });

    const op = operator;
    const eq = equipment;
    const ctx: RunContext = {
      config,
      equipment: eq.slots,
      store,
      stopWaiting: AbortSignal.any([stop, died.signal]),
      keepUp: () => op.keepUp(),
      whyNotTailed: (slot) => op.whyNotTailed(slot),
      session: () => op.session(),
      restrictedSession: (slot, purposes) => op.restrictedSession(slot, purposes, Date.now()),
      restartBroker: async () => {
        if (eq.restartBroker === undefined) throw new Error(eq.brokerUrl === undefined ? 'the run has no broker (the config has no MQTT slot)' : 'the embedded broker cannot be restarted: broker-restart needs mosquitto');
        await eq.restartBroker();
      },
      killRn: async () => {
        const rn = children.find((c) => c.role === 'rn' && c.running);
        if (rn === undefined) throw new Error('no RN is running');
        expectedExit.add(rn);
        rn.kill();
        await rn.exited;
        await startRn();
      },
    };
    const stepsT0 = performance.now();
    // Without judgeOnStop, a stop (Ctrl-C, SIGTERM) is never a pass: the steps left are reported
    // as skipped, a wait it cut short did not wait, and a stop during the last step still counts.
    const interrupted = (): boolean => stop.aborted && o.judgeOnStop !== true;
    for (const s of scenario.steps) {
      if (death() !== undefined) {
        setupError ??= death()!.text;
        skipped.push(skippedStep(s));
        continue;
      }
      if (interrupted()) {
        setupError ??= `interrupted before step ${s.index + 1}`;
        skipped.push(skippedStep(s));
        continue;
      }
      if (s.atMs !== undefined && !stop.aborted) await pause(s.atMs - (performance.now() - stepsT0), ctx.stopWaiting);
      const done = await runStep(s, ctx);
      const cut = death() !== undefined ? `stopped: the ${death()!.label} exited` : interrupted() && done.kind === 'wait' ? 'interrupted' : undefined;
      const r = cut !== undefined ? { ...done, ok: false, error: true, message: `${cut}: ${done.message}` } : done;
      steps.push(r);
      o.onStep?.(r);
    }
    if (death() !== undefined) setupError ??= death()!.text;
    if (interrupted()) setupError ??= `interrupted during step ${scenario.steps.length} (the last)`;
  } catch (e) {
    if (!stop.aborted) setupError = isCodedError(e) ? `${e.message} [${e.code}]` : String((e as Error)?.message ?? e);
    else setupError = 'stopped during start-up';
  } finally {
    o.onStopping?.();
    operator?.close();
    const stopT0 = performance.now();
    const byRole = (role: Role): CliChild[] => children.filter((c) => c.role === role);
    // Operators first, so their sessions end before the gateway goes; the RN with the gateway.
    stopping = true;
    killed = await stopInOrder([byRole('operator'), [...byRole('gateway'), ...byRole('rn')]], CHILD_STOP_MS);
    if (killed.length > 0) note(`${killed.map((c) => c.label).join(', ')}: still running ${CHILD_STOP_MS} ms after SIGTERM, stopped with SIGKILL`);
    tools = equipment?.tools ?? [];
    await equipment?.close();
    removeDir();
    process.off('exit', removeDir);
    dirRemoved(dir);
    o.force?.removeEventListener('abort', onForce);
    stopMs = performance.now() - stopT0;
  }
  return {
    scenario: scenario.name,
    file: o.scenarioFile ?? '(built in)',
    config: o.configFile,
    notes,
    steps,
    ...(skipped.length > 0 ? { skipped } : {}),
    ...(setupError !== undefined ? { setupError } : {}),
    ms: Math.round(performance.now() - t0),
    processes: children.map((c) => ({ role: c.role, label: c.label, pid: c.pid, exit: c.proc.exitCode ?? c.proc.signalCode })),
    tools,
    dir,
    killed: killed.map((c) => c.label),
    stopMs,
  };
}

export { passed };
