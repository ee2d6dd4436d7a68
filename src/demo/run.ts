// `uzpgw demo`: one scenario of the HIL runner (src/hil-runner/run.ts, the same engine as
// `uzpgw hil run`): the demo's gateway config, its own equipment host (simulators on paced socat PTYs
// and an MQTT machine on mosquitto, or the embedded defaults), one operator per slot as its own
// `uzpgw connect` process, and a scenario that waits until the deadline or Ctrl-C, then expects a
// reading from every slot. The runner makes the throwaway trust domain, starts the RN and the
// gateway, and stops everything by pid and removes the directory; this file adds the view.
//
// Exit rule: 0 when every slot of the demo (Modbus bus, line sensor, MQTT machine) delivered at
// least one reading to the operator; 1 otherwise, with the silent slots named. Every slot always
// runs: a missing socat or mosquitto is replaced by an embedded default, never by skipping a slot.
//
// Stopping. A terminal's Ctrl-C sends SIGINT to the demo and every child at once (one process
// group), so the children are already on their way out when the demo starts stopping them; the
// demo's stop is bounded at every step (children: SIGKILL at a shared deadline; equipment: each
// close step bounded) so one Ctrl-C ends everything within a few seconds whatever state the run
// was in. A further interrupt while stopping kills what is left by pid and removes the directory
// at once. The directory holds the root key and every identity key, so it is also removed on any
// other way out of the process ('exit' hook).

import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { nodeProvider } from '../uzp/crypto/node.js';
import type { EquipmentHost } from '../hil-runner/host.js';
import { runHil, type RunStack } from '../hil-runner/run.js';
import type { Scenario } from '../hil-runner/scenario.js';
import { settleWithin } from './bounded.js';
import { logEvent, operatorEvent } from './child-events.js';
import { parseJsonLine } from '../hil-runner/children.js';
import { MODBUS_SLOT, MQTT_SLOT, SERIAL_SLOT, type SlotKind } from './equipment.js';
import { demoGatewayConfig } from './gateway-config.js';
import { openMqttEquipment, openSerialEquipment, type MqttEquipment, type SerialEquipment } from './hosts.js';
import { FILES, issueGrants } from './trust-domain.js';
import { createView, type DemoReading, type Summary } from './view.js';
import { seconds } from './view-model.js';
import { LiveWindow } from './live-window.js';
import { systemClock } from '../lib/clock.js';
import { dirRemoved } from '../lib/reaper.js';
import { makeTempDir } from '../lib/temp-dir.js';

/** Subscribes to interrupts (the CLI feeds SIGINT, SIGTERM and SIGHUP); returns the unsubscribe function. */
export type InterruptSource = (onInterrupt: (signal: string) => void) => () => void;

interface DemoOptions {
  /** The whole run (set-up and live readings) lasts at most this long. */
  readonly seconds: number;
  readonly json: boolean;
  /** false forces the embedded serial equipment (as if socat were missing). */
  readonly socat: boolean;
  /** false forces the embedded MQTT broker (as if mosquitto were missing). */
  readonly mosquitto: boolean;
  readonly out: NodeJS.WritableStream;
  readonly provider?: CryptoProvider;
  /** The first interrupt stops the run; any further one forces the stop. */
  readonly interrupts?: InterruptSource;
}

export const DEMO_SLOTS: readonly { readonly slot: string; readonly device: string; readonly kind: SlotKind }[] = [MODBUS_SLOT, SERIAL_SLOT, MQTT_SLOT];

/** Each equipment host (serial lines, MQTT) gets this long to close; they close side by side. */
const EQUIPMENT_STOP_MS = 1000;

/**
 * How long after its operators start the demo waits for every slot's first reading before it starts
 * the `--seconds` window anyway (and the silent slots end up in `missing`). A loaded 2-core machine
 * has taken 3-4 s from the operators' start to the MQTT slot's first reading.
 */
export const FIRST_READINGS_MS = 20_000;

/**
 * The demo's scenario: live readings until the deadline or Ctrl-C (the runner's stop signal ends the
 * wait), then every slot must have delivered at least one reading since the run started.
 */
export function demoScenario(secondsTotal: number): Scenario {
  // The wait outlasts the window and the wait for first readings: the deadline (or Ctrl-C) ends it.
  return {
    file: '(demo)',
    name: 'demo',
    intervalMs: 1000,
    steps: [
      { index: 0, kind: 'wait', ms: secondsTotal * 1000 + FIRST_READINGS_MS + 1000, name: 'live readings until the deadline or Ctrl-C' },
      ...DEMO_SLOTS.map((s, i) => ({ index: i + 1, kind: 'expect' as const, e: { expect: 'readings' as const, slot: s.slot, min: 1, withinMs: 1, since: 'start' as const } })),
    ],
  };
}

/** The demo's equipment: socat PTYs or simulators inside the gateway; mosquitto or the embedded broker. */
function demoHost(o: DemoOptions, chosen: { serial?: SerialEquipment; mqtt?: MqttEquipment }, warn: (text: string) => void): EquipmentHost {
  return {
    async start(_config, ptyDir, h) {
      const serial = (chosen.serial = await openSerialEquipment(ptyDir, o.socat));
      h.note(serial.choice.used === 'socat' ? `serial lines: socat PTYs (pids ${serial.pids.join(', ')}), baud-paced, simulators in this process` : `serial lines: embedded in the gateway process (${serial.choice.reason})`);
      let mqtt: MqttEquipment;
      try {
        mqtt = chosen.mqtt = await openMqttEquipment(o.mosquitto);
      } catch (e) {
        await serial.close();
        throw e;
      }
      h.note(mqtt.choice.used === 'mosquitto' ? `MQTT broker: mosquitto (pid ${mqtt.pid}) at ${mqtt.url}` : `MQTT broker: embedded at ${mqtt.url} (${mqtt.choice.reason})`);
      return {
        slots: new Map(),
        brokerUrl: mqtt.url,
        // Without socat the gateway hosts the serial simulators itself, on paced memory lines.
        gatewayCommand: serial.choice.used === 'embedded' ? ['demo', 'gateway'] : ['gateway'],
        tools: [...serial.pids.map((pid) => ({ name: 'socat', pid })), ...(mqtt.pid !== undefined ? [{ name: 'mosquitto', pid: mqtt.pid }] : [])],
        close: async () => {
          const closed = await Promise.all([serial, mqtt].map((eq) => settleWithin(eq.close(), EQUIPMENT_STOP_MS)));
          if (!closed.includes(false)) return;
          // A close that timed out may have left socat or mosquitto running: they go by pid too.
          warn(`equipment did not close within ${EQUIPMENT_STOP_MS} ms; its processes are killed by pid`);
          serial.forceStop();
          mqtt.forceStop();
        },
        forceStop: () => {
          serial.forceStop();
          mqtt.forceStop();
        },
      };
    },
  };
}

export async function runDemo(o: DemoOptions): Promise<number> {
  const provider = o.provider ?? nodeProvider;
  const view = createView(o.out, o.json, DEMO_SLOTS);
  const t0 = performance.now();
  const stop = new AbortController();
  const force = new AbortController();
  // `--seconds` of live readings, from every slot's first reading (live-window.ts).
  const counts = new Map<string, number>(DEMO_SLOTS.map((s) => [s.slot, 0]));
  const liveWindow = new LiveWindow({
    clock: systemClock,
    slots: DEMO_SLOTS.map((s) => s.slot),
    windowMs: o.seconds * 1000,
    firstReadingsMs: FIRST_READINGS_MS,
    onStart: (silent) => {
      if (silent.length > 0) view.event('warn', `no reading yet from ${silent.join(', ')} ${FIRST_READINGS_MS / 1000} s after the operators started; ${o.seconds} s of live readings from now`);
    },
    onEnd: () => stop.abort('deadline'),
  });
  const chosen: { serial?: SerialEquipment; mqtt?: MqttEquipment } = {};
  let dir = '';

  // Ctrl-C once: stop in order. Again while stopping: kill what is left and remove the directory now.
  let interrupts = 0;
  const onInterrupt = (signal: string): void => {
    const what = signal === 'SIGINT' ? 'Ctrl-C' : signal;
    if (++interrupts === 1) {
      view.event('info', `${what}: stopping (again to force)`);
      stop.abort('interrupted');
      return;
    }
    view.event('info', `${what} again: already stopping; killing what is still running (by pid) and removing ${dir}`);
    force.abort();
  };
  const unsubscribe = o.interrupts?.(onInterrupt) ?? ((): void => {});

  // The demo's config, for the runner to remap (identity, trust, broker and virtual_dir are its own).
  // Removed by the reaper too if the demo is killed with SIGKILL (no finally runs then).
  const configDir = makeTempDir('demo-config-');
  const config = join(configDir, 'gateway.json');
  writeFileSync(config, JSON.stringify(demoGatewayConfig({ gatewayKey: FILES.gatewayKey, gatewayPcert: FILES.gatewayPcert, trust: FILES.trust, rnSet: FILES.rnSet }, 'mqtt://127.0.0.1:1883'), null, 2));

  const operators = async (st: RunStack): Promise<void> => {
    const at = (f: string): string => join(st.dir, f);
    const grants = issueGrants(provider, st.domain, DEMO_SLOTS.map((s) => s.slot), Date.now());
    for (const s of DEMO_SLOTS) {
      const args = ['connect', '--json', '--key', at(FILES.operatorKey), '--pcert', at(FILES.operatorPcert), '--trust', at(FILES.trust), '--rn-set', at(FILES.rnSet)];
      args.push('--grant', grants.get(s.slot)!, '--gateway', st.domain.gatewayCid, '--slot', s.slot, 'tail');
      const op = await st.start('operator', `operator ${s.slot}`, args);
      op.onLine((line) => {
        const r = toReading(parseJsonLine(line));
        if (r === undefined || !counts.has(r.slot)) return;
        counts.set(r.slot, counts.get(r.slot)! + 1);
        st.store.add(r.slot, r.value);
        view.reading(r);
        liveWindow.reading(r.slot);
      });
      let said = false;
      op.onStderrLine((line) => {
        const e = stop.signal.aborted ? undefined : operatorEvent(s.slot, line);
        if (e === undefined) return;
        said ||= e.kind !== 'info';
        view.event(e.kind, e.text);
      });
      void op.exited.then(({ code }) => {
        if (stop.signal.aborted) return;
        // The reason is shown already when the operator said one (a refusal, an error line).
        const last = said ? '' : `: ${op.stderr().trim().split('\n').slice(-1)[0] ?? ''}`;
        view.event('error', `operator ${s.slot} exited early (code ${code})${last}`);
      });
    }
    liveWindow.arm();
  };

  // Which runtime runs it all (the RN, gateway and operator children are spawned with this node too).
  view.event('info', `node ${process.version} (${process.platform} ${process.arch}, ${process.execPath})`);
  let run;
  try {
    run = await runHil({
      configFile: config,
      scenario: demoScenario(o.seconds),
      provider,
      dirPrefix: 'demo-',
      domainName: 'demo',
      host: demoHost(o, chosen, (text) => view.event('warn', text)),
      operatorTails: false,
      withStack: operators,
      stop: stop.signal,
      judgeOnStop: true,
      force: force.signal,
      onNote: (n) => {
        const d = /^throwaway trust domain in (\S+)$/.exec(n);
        if (d !== null) dir = d[1]!;
        // The remapping is the runner's business; the demo's config is made for it.
        if (!n.startsWith('remapped: ')) view.event('info', n);
      },
      onChild: (c) => {
        view.process(c.role, c.pid, c.label);
        // Children's warnings, errors and refusals are shown while the run lasts; while stopping they
        // are the expected noise of everything going away at once.
        if (c.role !== 'operator') c.onLine((line) => {
          const v = parseJsonLine(line);
          const e = v !== undefined && !stop.signal.aborted ? logEvent(c.label, v) : undefined;
          if (e !== undefined) view.event(e.kind, e.text);
        });
      },
      onStopping: () => {
        stop.abort('done');
        view.event('info', 'stopping: operators, then gateway and RN (by pid), then the equipment');
      },
    });
  } finally {
    liveWindow.close();
    rmSync(configDir, { recursive: true, force: true });
    dirRemoved(configDir);
    unsubscribe();
  }
  view.event('info', `everything stopped in ${seconds(run.stopMs)}; removed ${run.dir} (the domain's keys with it)`);

  const error = run.setupError !== undefined && stop.signal.reason !== 'interrupted' && stop.signal.reason !== 'deadline' ? run.setupError : undefined;
  const { ok, missing } = verdict(counts, error);
  const reasons = [chosen.serial?.choice.reason, chosen.mqtt?.choice.reason].filter((r): r is string => r !== undefined);
  const summary: Summary = {
    event: 'summary',
    ok,
    exit_code: ok ? 0 : 1,
    readings: Object.fromEntries(counts),
    slots: DEMO_SLOTS.map((s) => ({ slot: s.slot, device: s.device, kind: s.kind, readings: counts.get(s.slot)! })),
    missing,
    defaults: {
      serial: chosen.serial?.choice.used === 'embedded' ? 'embedded (simulators in the gateway process)' : chosen.serial ? 'socat' : 'not started',
      mqtt: chosen.mqtt?.choice.used === 'embedded' ? 'embedded (broker in the demo process)' : chosen.mqtt ? 'mosquitto' : 'not started',
      reasons,
    },
    processes: run.processes.map((p) => ({ role: p.role, label: p.label, pid: p.pid, exit: p.exit })),
    tools: [...run.tools],
    seconds: o.seconds,
    node: process.version,
    duration_ms: Math.round(performance.now() - t0),
    interrupted: stop.signal.reason === 'interrupted',
    ...(error !== undefined ? { error } : {}),
  };
  view.summary(summary);
  return summary.exit_code;
}

/**
 * The exit rule: ok (exit 0) when every demo slot delivered at least one reading and nothing failed;
 * otherwise exit 1 with the silent slots named. A slot absent from `counts` counts as silent.
 */
export function verdict(counts: ReadonlyMap<string, number>, error: string | undefined): { ok: boolean; missing: string[] } {
  const missing = DEMO_SLOTS.filter((s) => (counts.get(s.slot) ?? 0) === 0).map((s) => s.slot);
  return { ok: missing.length === 0 && error === undefined, missing };
}

/** An operator's `connect tail` line as a demo reading (undefined for anything else). */
function toReading(v: Record<string, unknown> | undefined): DemoReading | undefined {
  if (v === undefined || v.event !== 'reading') return undefined;
  const { slot, device, kind, seq, ts, value } = v;
  if (typeof slot !== 'string' || typeof device !== 'string' || typeof seq !== 'number') return undefined;
  if (kind !== 'modbus' && kind !== 'serial' && kind !== 'mqtt') return undefined;
  return { slot, device, kind, seq, ...(typeof ts === 'number' ? { ts } : {}), value };
}
