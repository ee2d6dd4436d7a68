// `uzpgw demo`, the orchestrator: a throwaway trust domain in a temporary directory, the equipment
// (simulators on paced socat PTYs and an MQTT machine on mosquitto, or the embedded defaults), then
// an RN, a gateway on board `virtual` and one operator per slot, each its own `uzpgw` process,
// showing live readings until the deadline, Ctrl-C or an error; then everything is stopped by pid
// and the directory removed.
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

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { nodeProvider } from '../uzp/crypto/node.js';
import { settleWithin } from './bounded.js';
import { logEvent, operatorEvent } from './child-events.js';
import { CliChild, parseJsonLine, stopInOrder, type Role } from '../hil-runner/children.js';
import { MODBUS_SLOT, MQTT_SLOT, SERIAL_SLOT, type SlotKind } from './equipment.js';
import { demoGatewayConfig, VIRTUAL_DIR } from './gateway-config.js';
import { openMqttEquipment, openSerialEquipment, type MqttEquipment, type SerialEquipment } from './hosts.js';
import { createDemoDomain, FILES, issueGrants, issueRnSet } from './trust-domain.js';
import { createView, type DemoReading, type Summary } from './view.js';
import { seconds } from './view-model.js';
import { isCodedError } from '../lib/errors.js';

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

/** Start-up waits never exceed this, whatever --seconds says (a hang guard, not a timing claim). */
const START_TIMEOUT_MS = 20_000;
/** Children get SIGTERM, then SIGKILL at this deadline (one for all of them). */
const CHILD_STOP_MS = 1000;
/** Each equipment host (serial lines, MQTT) gets this long to close; they close side by side. */
const EQUIPMENT_STOP_MS = 1000;

export async function runDemo(o: DemoOptions): Promise<number> {
  const provider = o.provider ?? nodeProvider;
  const view = createView(o.out, o.json, DEMO_SLOTS);
  const t0 = performance.now();
  const stop = new AbortController();
  const deadline = setTimeout(() => stop.abort('deadline'), o.seconds * 1000);

  const dir = mkdtempSync(join(tmpdir(), 'uzp-demo-'));
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeDir);
  const children: CliChild[] = [];
  const counts = new Map<string, number>(DEMO_SLOTS.map((s) => [s.slot, 0]));
  let serial: SerialEquipment | undefined;
  let mqtt: MqttEquipment | undefined;
  let error: string | undefined;

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
    for (const c of children) c.kill();
    serial?.forceStop();
    mqtt?.forceStop();
    removeDir();
  };
  const unsubscribe = o.interrupts?.(onInterrupt) ?? ((): void => {});

  const remaining = (): number => Math.max(1000, Math.min(START_TIMEOUT_MS, o.seconds * 1000 - (performance.now() - t0)));
  const start = async (role: Role, label: string, args: string[]): Promise<CliChild> => {
    const c = await CliChild.start(role, label, args);
    children.push(c);
    view.process(role, c.pid, label);
    // Children's warnings, errors and refusals are shown while the run lasts; while stopping they
    // are the expected noise of everything going away at once.
    if (role !== 'operator') c.onLine((line) => {
      const v = parseJsonLine(line);
      const e = v !== undefined && !stop.signal.aborted ? logEvent(label, v) : undefined;
      if (e !== undefined) view.event(e.kind, e.text);
    });
    return c;
  };

  try {
    // Which runtime runs it all (the RN, gateway and operator children are spawned with this node too).
    view.event('info', `node ${process.version} (${process.platform} ${process.arch}, ${process.execPath})`);
    view.event('info', `throwaway trust domain in ${dir}`);
    const domain = createDemoDomain(provider, dir, Date.now());
    const at = (f: string): string => join(dir, f);

    mkdirSync(at(VIRTUAL_DIR));
    serial = await openSerialEquipment(at(VIRTUAL_DIR), o.socat);
    view.event('info', serial.choice.used === 'socat' ? `serial lines: socat PTY pairs (pids ${serial.pids.join(', ')}), baud-paced, simulators in this process` : `serial lines: embedded in the gateway process (${serial.choice.reason})`);
    stop.signal.throwIfAborted();
    mqtt = await openMqttEquipment(o.mosquitto);
    view.event('info', mqtt.choice.used === 'mosquitto' ? `MQTT broker: mosquitto (pid ${mqtt.pid}) at ${mqtt.url}` : `MQTT broker: embedded at ${mqtt.url} (${mqtt.choice.reason})`);
    stop.signal.throwIfAborted();

    const rn = await start('rn', 'rn', ['rn', '--listen', '127.0.0.1:0', '--trust', at(FILES.trust), '--key', at(FILES.rnKey), '--log-level', 'warn']);
    const listening = await rn.waitForJson((v) => v.event === 'listening', remaining(), 'its listening line', stop.signal);
    const rnAddress = String(listening.address);
    view.event('info', `RN listening on ${rnAddress} (the only listener besides the equipment's broker)`);
    issueRnSet(provider, domain, rnAddress, Date.now());
    const grants = issueGrants(provider, domain, DEMO_SLOTS.map((s) => s.slot), Date.now());

    const config = at('gateway.json');
    // No audit file: the audit lines go to the gateway's stdout, where the demo shows refusals.
    writeFileSync(config, JSON.stringify(demoGatewayConfig({ gatewayKey: FILES.gatewayKey, gatewayPcert: FILES.gatewayPcert, trust: FILES.trust, rnSet: FILES.rnSet }, mqtt.url), null, 2));
    const gwArgs = [...(serial.choice.used === 'embedded' ? ['demo', 'gateway'] : ['gateway']), '--config', config, '--log-level', 'info'];
    const gateway = await start('gateway', 'gateway', gwArgs);
    await gateway.waitForJson((v) => v.event === 'rn.attached', remaining(), 'its RN attachment', stop.signal);
    view.event('info', 'gateway attached to the RN (outbound link; it listens on nothing)');

    for (const s of DEMO_SLOTS) {
      const args = ['connect', '--json', '--key', at(FILES.operatorKey), '--pcert', at(FILES.operatorPcert), '--trust', at(FILES.trust), '--rn-set', at(FILES.rnSet)];
      args.push('--grant', grants.get(s.slot)!, '--gateway', domain.gatewayCid, '--slot', s.slot, 'tail');
      const op = await start('operator', `operator ${s.slot}`, args);
      op.onLine((line) => {
        const r = toReading(parseJsonLine(line));
        if (r === undefined || !counts.has(r.slot)) return;
        counts.set(r.slot, counts.get(r.slot)! + 1);
        view.reading(r);
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
    await new Promise<void>((resolve) => (stop.signal.aborted ? resolve() : stop.signal.addEventListener('abort', () => resolve(), { once: true })));
  } catch (e) {
    if (!stop.signal.aborted) error = isCodedError(e) ? `${e.message} [${e.code}]` : String((e as Error)?.stack ?? e);
    stop.abort('error');
  } finally {
    clearTimeout(deadline);
    view.event('info', 'stopping: operators, then gateway and RN (by pid), then the equipment');
    const byRole = (role: Role): CliChild[] => children.filter((c) => c.role === role);
    const stopStart = performance.now();
    // Operators first, so their sessions end before the gateway goes; the RN with the gateway.
    const killed = await stopInOrder([byRole('operator'), [...byRole('gateway'), ...byRole('rn')]], CHILD_STOP_MS);
    if (killed.length > 0) view.event('info', `${killed.map((c) => c.label).join(', ')}: still running ${CHILD_STOP_MS} ms after SIGTERM, stopped with SIGKILL`);
    const closed = await Promise.all([serial, mqtt].map((eq) => (eq === undefined ? true : settleWithin(eq.close(), EQUIPMENT_STOP_MS))));
    if (closed.includes(false)) view.event('warn', `equipment did not close within ${EQUIPMENT_STOP_MS} ms; its processes are killed by pid`);
    // A close that timed out may have left socat or mosquitto running: they go by pid too.
    if (closed.includes(false)) for (const eq of [serial, mqtt]) eq?.forceStop();
    removeDir();
    process.off('exit', removeDir);
    view.event('info', `everything stopped in ${seconds(performance.now() - stopStart)}; removed ${dir} (the domain's keys with it)`);
    unsubscribe();
  }

  const { ok, missing } = verdict(counts, error);
  const reasons = [serial?.choice.reason, mqtt?.choice.reason].filter((r): r is string => r !== undefined);
  const summary: Summary = {
    event: 'summary',
    ok,
    exit_code: ok ? 0 : 1,
    readings: Object.fromEntries(counts),
    slots: DEMO_SLOTS.map((s) => ({ slot: s.slot, device: s.device, kind: s.kind, readings: counts.get(s.slot)! })),
    missing,
    defaults: { serial: serial?.choice.used === 'embedded' ? 'embedded (simulators in the gateway process)' : serial ? 'socat' : 'not started', mqtt: mqtt?.choice.used === 'embedded' ? 'embedded (broker in the demo process)' : mqtt ? 'mosquitto' : 'not started', reasons },
    processes: children.map((c) => ({ role: c.role, label: c.label, pid: c.pid, exit: c.proc.exitCode ?? c.proc.signalCode })),
    tools: [...(serial?.pids ?? []).map((pid) => ({ name: 'socat', pid })), ...(mqtt?.pid !== undefined ? [{ name: 'mosquitto', pid: mqtt.pid }] : [])],
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
