// What the demo prints. `--json`: exactly three kinds of JSON line, so scripts can rely on them —
//   {"event":"process","role":"rn|gateway|operator","pid":N,...}   one per process started
//   {"event":"reading","slot":…,"device":…,"kind":"modbus|serial|mqtt","seq":N,"value":…}
//   {"event":"summary",…}                                          last line
// Without --json: a readable live view on stdout (progress, one line per reading, a summary).

import type { Role } from './children.js';
import type { SlotKind } from './equipment.js';

export interface DemoReading {
  readonly slot: string;
  readonly device: string;
  readonly kind: SlotKind;
  readonly seq: number;
  readonly ts?: number;
  readonly value: unknown;
}

interface SlotSummary {
  readonly slot: string;
  readonly device: string;
  readonly kind: SlotKind;
  readonly readings: number;
}

export interface Summary {
  readonly event: 'summary';
  readonly ok: boolean;
  readonly exit_code: number;
  /** Per slot id: readings shown. */
  readonly readings: Record<string, number>;
  readonly slots: readonly SlotSummary[];
  readonly missing: readonly string[];
  /** Which system tools were used and which embedded defaults replaced missing ones. */
  readonly defaults: { readonly serial: string; readonly mqtt: string; readonly reasons: readonly string[] };
  readonly processes: readonly { readonly role: Role; readonly label: string; readonly pid: number; readonly exit: number | string | null }[];
  /** System tools started for the equipment (socat, mosquitto), also stopped by pid. */
  readonly tools: readonly { readonly name: string; readonly pid: number }[];
  readonly seconds: number;
  /** process.version of the runtime every process of the demo ran on (the project's pinned Node 24). */
  readonly node: string;
  readonly duration_ms: number;
  readonly interrupted: boolean;
  readonly error?: string;
}

export class DemoView {
  private readonly t0 = performance.now();

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly json: boolean,
  ) {}

  /** Human progress lines (silent in --json mode, which keeps to the three documented events). */
  info(message: string): void {
    if (!this.json) this.line(`[demo ${this.elapsed()}] ${message}`);
  }

  process(role: Role, pid: number, label: string): void {
    if (this.json) this.line(JSON.stringify({ event: 'process', role, pid, label }));
    else this.info(`started ${label} (pid ${pid})`);
  }

  reading(r: DemoReading): void {
    if (this.json) this.line(JSON.stringify({ event: 'reading', slot: r.slot, device: r.device, kind: r.kind, seq: r.seq, ...(r.ts !== undefined ? { ts: r.ts } : {}), value: r.value }));
    else this.line(`  ${this.elapsed().padStart(6)}  ${r.slot.padEnd(8)} ${r.device.padEnd(9)} ${r.kind.padEnd(6)} #${String(r.seq).padEnd(4)} ${describeValue(r)}`);
  }

  summary(s: Summary): void {
    if (this.json) return this.line(JSON.stringify(s));
    this.line('');
    this.line(`summary (${(s.duration_ms / 1000).toFixed(1)} s${s.interrupted ? ', interrupted' : ''}):`);
    for (const slot of s.slots) this.line(`  ${slot.slot.padEnd(8)} ${slot.device.padEnd(9)} ${slot.kind.padEnd(6)} ${slot.readings} readings${slot.readings === 0 ? '  <- none' : ''}`);
    this.line(`  serial lines: ${s.defaults.serial}; MQTT broker: ${s.defaults.mqtt}; node ${s.node}`);
    for (const r of s.defaults.reasons) this.line(`    (${r})`);
    if (s.error !== undefined) this.line(`  error: ${s.error}`);
    this.line(s.ok ? '  every slot delivered readings: exit 0' : `  no readings from: ${s.missing.join(', ') || '(see error)'}: exit 1`);
  }

  private elapsed(): string {
    return `${((performance.now() - this.t0) / 1000).toFixed(1)}s`;
  }

  private line(s: string): void {
    this.out.write(s + '\n');
  }
}

/** One reading as a short human phrase: `unit 1 temperature = 23.1 °C`, `"T=21.4;H=40"`, `topic payload`. */
function describeValue(r: DemoReading): string {
  const v = r.value as Record<string, unknown> | null;
  if (v === null || typeof v !== 'object') return JSON.stringify(r.value);
  if (r.kind === 'modbus') return `unit ${String(v.unit)} ${String(v.name)} = ${JSON.stringify(v.value)}${typeof v.eng_unit === 'string' ? ' ' + v.eng_unit : ''}`;
  if (r.kind === 'serial') return JSON.stringify(v.line);
  return `${String(v.topic)} ${typeof v.payload === 'string' ? v.payload : JSON.stringify(v.payload)}`;
}
