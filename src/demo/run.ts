// `uzpgw demo`, the orchestrator: a throwaway trust domain in a temporary directory, the equipment
// (simulators on paced socat PTYs and an MQTT machine on mosquitto, or the embedded defaults), then
// an RN, a gateway on board `virtual` and one operator per slot, each its own `uzpgw` process,
// showing live readings until the deadline, Ctrl-C or an error; then everything is stopped by pid
// and the directory removed.
//
// Exit rule: 0 when every slot of the demo (Modbus bus, line sensor, MQTT machine) delivered at
// least one reading to the operator; 1 otherwise, with the silent slots named. Every slot always
// runs: a missing socat or mosquitto is replaced by an embedded default, never by skipping a slot.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { nodeProvider } from '../uzp/crypto/node.js';
import { DemoChild, parseJsonLine, type Role } from './children.js';
import { MODBUS_SLOT, MQTT_SLOT, SERIAL_SLOT, type SlotKind } from './equipment.js';
import { demoGatewayConfig, VIRTUAL_DIR } from './gateway-config.js';
import { openMqttEquipment, openSerialEquipment, type MqttEquipment, type SerialEquipment } from './hosts.js';
import { createDemoDomain, FILES, issueGrants, issueRnSet } from './trust-domain.js';
import { DemoView, type DemoReading, type Summary } from './view.js';
import { isCodedError } from '../lib/errors.js';

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
  /** Stops the run early (the CLI wires SIGINT/SIGTERM to it). */
  readonly signal?: AbortSignal;
}

export const DEMO_SLOTS: readonly { readonly slot: string; readonly device: string; readonly kind: SlotKind }[] = [MODBUS_SLOT, SERIAL_SLOT, MQTT_SLOT];

/** Start-up waits never exceed this, whatever --seconds says (a hang guard, not a timing claim). */
const START_TIMEOUT_MS = 20_000;

export async function runDemo(o: DemoOptions): Promise<number> {
  const provider = o.provider ?? nodeProvider;
  const view = new DemoView(o.out, o.json);
  const t0 = performance.now();
  const stop = new AbortController();
  const deadline = setTimeout(() => stop.abort('deadline'), o.seconds * 1000);
  const onOuterAbort = (): void => stop.abort('interrupted');
  o.signal?.addEventListener('abort', onOuterAbort);
  if (o.signal?.aborted) stop.abort('interrupted');

  const dir = mkdtempSync(join(tmpdir(), 'uzp-demo-'));
  const children: DemoChild[] = [];
  const counts = new Map<string, number>(DEMO_SLOTS.map((s) => [s.slot, 0]));
  let serial: SerialEquipment | undefined;
  let mqtt: MqttEquipment | undefined;
  let error: string | undefined;
  const remaining = (): number => Math.max(1000, Math.min(START_TIMEOUT_MS, o.seconds * 1000 - (performance.now() - t0)));
  const start = async (role: Role, label: string, args: string[]): Promise<DemoChild> => {
    const c = await DemoChild.start(role, label, args);
    children.push(c);
    view.process(role, c.pid, label);
    return c;
  };

  try {
    // Which runtime runs it all (the RN, gateway and operator children are spawned with this node too).
    view.info(`node ${process.version} (${process.platform} ${process.arch}, ${process.execPath})`);
    view.info(`throwaway trust domain in ${dir}`);
    const domain = createDemoDomain(provider, dir, Date.now());
    const at = (f: string): string => join(dir, f);

    mkdirSync(at(VIRTUAL_DIR));
    serial = await openSerialEquipment(at(VIRTUAL_DIR), o.socat);
    view.info(serial.choice.used === 'socat' ? 'serial lines: socat PTY pairs, baud-paced, simulators in this process' : `serial lines: embedded in the gateway process (${serial.choice.reason})`);
    mqtt = await openMqttEquipment(o.mosquitto);
    view.info(mqtt.choice.used === 'mosquitto' ? `MQTT broker: mosquitto at ${mqtt.url}` : `MQTT broker: embedded at ${mqtt.url} (${mqtt.choice.reason})`);
    stop.signal.throwIfAborted();

    const rn = await start('rn', 'rn', ['rn', '--listen', '127.0.0.1:0', '--trust', at(FILES.trust), '--key', at(FILES.rnKey), '--log-level', 'warn']);
    const listening = await rn.waitForJson((v) => v.event === 'listening', remaining(), 'its listening line', stop.signal);
    const rnAddress = String(listening.address);
    view.info(`RN listening on ${rnAddress} (the only listener besides the equipment's broker)`);
    issueRnSet(provider, domain, rnAddress, Date.now());
    const grants = issueGrants(provider, domain, DEMO_SLOTS.map((s) => s.slot), Date.now());

    const config = at('gateway.json');
    writeFileSync(
      config,
      JSON.stringify(demoGatewayConfig({ gatewayKey: FILES.gatewayKey, gatewayPcert: FILES.gatewayPcert, trust: FILES.trust, rnSet: FILES.rnSet, audit: 'audit.jsonl' }, mqtt.url), null, 2),
    );
    const gwArgs = [...(serial.choice.used === 'embedded' ? ['demo', 'gateway'] : ['gateway']), '--config', config, '--log-level', 'info'];
    const gateway = await start('gateway', 'gateway', gwArgs);
    await gateway.waitForJson((v) => v.event === 'rn.attached', remaining(), 'its RN attachment', stop.signal);
    view.info('gateway attached to the RN (outbound link; it listens on nothing)');

    for (const s of DEMO_SLOTS) {
      const args = ['connect', '--key', at(FILES.operatorKey), '--pcert', at(FILES.operatorPcert), '--trust', at(FILES.trust), '--rn-set', at(FILES.rnSet)];
      args.push('--grant', grants.get(s.slot)!, '--gateway', domain.gatewayCid, '--slot', s.slot, 'tail');
      const op = await start('operator', `operator ${s.slot}`, args);
      op.onLine((line) => {
        const r = toReading(parseJsonLine(line));
        if (r === undefined || !counts.has(r.slot)) return;
        counts.set(r.slot, counts.get(r.slot)! + 1);
        view.reading(r);
      });
      void op.exited.then(({ code }) => {
        if (!stop.signal.aborted) view.info(`operator ${s.slot} exited early (code ${code}): ${op.stderr().trim().split('\n').slice(-1)[0] ?? ''}`);
      });
    }
    await new Promise<void>((resolve) => (stop.signal.aborted ? resolve() : stop.signal.addEventListener('abort', () => resolve(), { once: true })));
  } catch (e) {
    if (!stop.signal.aborted) error = isCodedError(e) ? `${e.message} [${e.code}]` : String((e as Error)?.stack ?? e);
  } finally {
    clearTimeout(deadline);
    o.signal?.removeEventListener('abort', onOuterAbort);
    view.info('stopping: operators, gateway, RN (by pid), then the equipment');
    for (const role of ['operator', 'gateway', 'rn'] as const) await Promise.all(children.filter((c) => c.role === role).map((c) => c.stop()));
    await mqtt?.close().catch(() => {});
    await serial?.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
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
