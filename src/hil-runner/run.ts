// `uzpgw hil run`, the orchestrator (issue #15, docs/HIL.md): for a user's gateway config and a
// scenario, in a temporary directory —
//   1. a throwaway trust domain (domain.ts);
//   2. virtual equipment for every slot (equipment.ts) on PTYs paced at the slot's line settings,
//      and a real mosquitto when the config has MQTT slots;
//   3. an RN and the gateway, each its own `uzpgw` process, the gateway running the user's config
//      remapped onto all of that (remap.ts, every change reported);
//   4. an operator session with a tail on every slot that produces readings (run-operator.ts);
//   5. the scenario's steps, in order (steps.ts); then everything is stopped by pid and the
//      directory removed (it holds the domain's root key).
// The run's verdict is the report's (report.ts): every expectation held and every step carried out.

import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { checkConfigText, ConfigError } from '../config/index.js';
import { isCodedError } from '../lib/errors.js';
import { Mosquitto } from '../sim/mosquitto.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { nodeProvider } from '../uzp/crypto/node.js';
import { CliChild, stopInOrder } from './children.js';
import { createDomain, FILES, issueGrant, issueRnSet } from './domain.js';
import { startEquipment, type RunningEquipment } from './equipment.js';
import { remapConfig } from './remap.js';
import { passed, type RunReport } from './report.js';
import { allPurposes, RunOperator } from './run-operator.js';
import { loadScenario, type Scenario } from './scenario.js';
import { runStep, type RunContext, type StepResult } from './steps.js';

export interface HilRunOptions {
  readonly configFile: string;
  readonly scenarioFile: string;
  readonly provider?: CryptoProvider;
  /** Called as each step ends (the CLI prints it at once). */
  readonly onStep?: (r: StepResult) => void;
  readonly onNote?: (note: string) => void;
  /** Aborts the run between steps (Ctrl-C); what is running is stopped as usual. */
  readonly signal?: AbortSignal;
}

/** Start-up waits never exceed this (a hang guard, not a timing claim). */
const START_TIMEOUT_MS = 20_000;
const CHILD_STOP_MS = 2000;
const DRIVERS_WITH_READINGS = new Set(['modbus-poller', 'serial-line', 'mqtt-bridge']);

/**
 * Validates config and scenario (throws ConfigError listing every problem of either, before
 * anything starts); then runs and always stops what it started.
 */
export async function runHil(o: HilRunOptions): Promise<RunReport> {
  const configFile = resolve(o.configFile);
  const text = readFileSync(configFile, 'utf8');
  // The config's own files (keys, trust) are not needed: the run makes its own.
  const checked = checkConfigText(text, configFile, { checkFiles: false });
  if (checked.config === undefined || checked.board === undefined) throw new ConfigError(o.configFile, checked.issues);
  const config = checked.config;
  const scenario: Scenario = loadScenario(resolve(o.scenarioFile), config);
  const provider = o.provider ?? nodeProvider;
  const t0 = performance.now();
  const notes: string[] = [];
  const note = (n: string): void => {
    notes.push(n);
    o.onNote?.(n);
  };
  const steps: StepResult[] = [];
  let setupError: string | undefined;

  const dir = mkdtempSync(join(tmpdir(), 'uzpgw-hil-run-'));
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);
  const at = (f: string): string => join(dir, f);
  const children: CliChild[] = [];
  let equipment: RunningEquipment | undefined;
  let broker: Mosquitto | undefined;
  let operator: RunOperator | undefined;
  try {
    const domain = createDomain(provider, dir, Date.now(), 'hil');
    const ptyDir = at('pty');
    mkdirSync(ptyDir);
    if (config.slots.some((s) => s.device.driver === 'mqtt-bridge')) {
      broker = await Mosquitto.start();
      note(`MQTT broker: mosquitto (pid ${broker.pid}) at ${broker.url}`);
    }
    equipment = await startEquipment(config, ptyDir, { ...(broker !== undefined ? { brokerUrl: broker.url } : {}), intervalMs: scenario.intervalMs });
    for (const s of equipment.slots) if (s.plan.kind === 'none') note(`${s.plan.slot}: no virtual equipment (${s.plan.why})`);

    let rnAddress = '127.0.0.1:0';
    const startRn = async (): Promise<void> => {
      const rn = await CliChild.start('rn', 'rn', ['rn', '--listen', rnAddress, '--trust', at(FILES.trust), '--key', at(FILES.rnKey), '--log-level', 'warn']);
      children.push(rn);
      const listening = await rn.waitForJson((v) => v.event === 'listening', START_TIMEOUT_MS, 'its listening line');
      rnAddress = String(listening.address);
    };
    await startRn();
    issueRnSet(provider, domain, rnAddress, Date.now());

    const remapped = remapConfig({ text, config, board: checked.board, runDir: dir, ptyDir, ...(broker !== undefined ? { brokerUrl: broker.url } : {}) });
    for (const n of remapped.notes) note(`remapped: ${n}`);
    const gwArgs = ['gateway', '--config', remapped.configFile, '--log-level', 'info', ...(remapped.boardsDir !== undefined ? ['--boards-dir', remapped.boardsDir] : [])];
    const gateway = await CliChild.start('gateway', 'gateway', gwArgs);
    children.push(gateway);
    await gateway.waitForJson((v) => v.event === 'rn.attached', START_TIMEOUT_MS, 'its RN attachment');

    const runSlots = config.slots.filter((s) => !remapped.skipped.some((k) => k.slot === s.id));
    const grant = issueGrant(provider, domain, { name: 'operator-all', purposes: allPurposes(runSlots), slots: runSlots.map((s) => s.id), nowMs: Date.now() });
    operator = new RunOperator(provider, domain, runSlots.filter((s) => DRIVERS_WITH_READINGS.has(s.device.driver)).map((s) => s.id), grant);
    await operator.session();

    const op = operator;
    const bySlot = new Map(equipment.slots.filter((s) => s.plan.kind !== 'none').map((s) => [s.plan.slot, s]));
    const ctx: RunContext = {
      config,
      equipment: bySlot,
      session: () => op.session(),
      restrictedSession: (slot, purposes) => op.restrictedSession(slot, purposes, Date.now()),
      readings: (slot) => op.readings(slot),
      nextReading: (slot, ms) => op.nextReading(slot, ms),
      restartBroker: async () => {
        if (broker === undefined) throw new Error('the config has no MQTT slot, so the run has no broker');
        await broker.restart();
      },
      killRn: async () => {
        const rn = children.find((c) => c.role === 'rn' && c.running);
        if (rn === undefined) throw new Error('no RN is running');
        rn.kill();
        await rn.exited;
        await startRn();
      },
    };
    const stepsT0 = performance.now();
    for (const s of scenario.steps) {
      if (o.signal?.aborted) {
        setupError = 'interrupted';
        break;
      }
      if (s.atMs !== undefined) {
        const wait = s.atMs - (performance.now() - stepsT0);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const r = await runStep(s, ctx);
      steps.push(r);
      o.onStep?.(r);
    }
  } catch (e) {
    setupError = isCodedError(e) ? `${e.message} [${e.code}]` : String((e as Error)?.message ?? e);
  } finally {
    operator?.close();
    const killed = await stopInOrder([children.filter((c) => c.role === 'gateway'), children.filter((c) => c.role === 'rn')], CHILD_STOP_MS);
    if (killed.length > 0) note(`${killed.map((c) => c.label).join(', ')}: still running ${CHILD_STOP_MS} ms after SIGTERM, stopped with SIGKILL`);
    await equipment?.close();
    await broker?.stop();
    removeDir();
    process.off('exit', removeDir);
  }
  const report: RunReport = { scenario: scenario.name, file: o.scenarioFile, config: o.configFile, notes, steps, ...(setupError !== undefined ? { setupError } : {}), ms: Math.round(performance.now() - t0) };
  return report;
}

export { passed };
