// The demo view's shapes and words, shared by the three views (view.ts, live-view.ts): what a
// reading, an event and the summary are, and how a person reads them.

import type { Role } from '../hil-runner/children.js';
import type { SlotKind } from './equipment.js';

export interface DemoReading {
  readonly slot: string;
  readonly device: string;
  readonly kind: SlotKind;
  readonly seq: number;
  readonly ts?: number;
  readonly value: unknown;
}

export type EventKind = 'info' | 'refused' | 'warn' | 'error';

export interface DemoEvent {
  readonly kind: EventKind;
  readonly text: string;
}

export interface ViewSlot {
  readonly slot: string;
  readonly device: string;
  readonly kind: SlotKind;
}

interface SlotSummary extends ViewSlot {
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

export interface DemoView {
  /** A human event (ignored with --json, which keeps to the three documented lines). */
  event(kind: EventKind, text: string): void;
  process(role: Role, pid: number, label: string): void;
  reading(r: DemoReading): void;
  /** The last output; the view is finished after it. */
  summary(s: Summary): void;
}

export function eventLine(kind: EventKind, text: string, elapsedMs: number): string {
  return `[demo ${seconds(elapsedMs)}] ${kind === 'info' ? '' : `${kind.toUpperCase()}: `}${text}`;
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** The human summary (both human views). */
export function summaryLines(s: Summary): string[] {
  const lines = ['', `summary (${(s.duration_ms / 1000).toFixed(1)} s${s.interrupted ? ', interrupted' : ''}):`];
  for (const slot of s.slots) lines.push(`  ${slot.slot.padEnd(8)} ${slot.device.padEnd(9)} ${slot.kind.padEnd(6)} ${slot.readings} readings${slot.readings === 0 ? '  <- none' : ''}`);
  lines.push(`  serial lines: ${s.defaults.serial}; MQTT broker: ${s.defaults.mqtt}; node ${s.node}`);
  for (const r of s.defaults.reasons) lines.push(`    (${r})`);
  if (s.error !== undefined) lines.push(`  error: ${s.error}`);
  lines.push(s.ok ? '  every slot delivered readings: exit 0' : `  no readings from: ${s.missing.join(', ') || '(see error)'}: exit 1`);
  return lines;
}

/**
 * One reading (a `connect tail` line's value) as a short human phrase: `unit 1 temperature = 23.1 °C`,
 * `"T=21.4;H=40"`, `topic payload`; bytes (tail's `_hex` keys) as `(hex) de…`, never like text.
 */
export function describeValue(r: DemoReading): string {
  const v = r.value as Record<string, unknown> | null;
  if (v === null || typeof v !== 'object') return JSON.stringify(r.value);
  if (r.kind === 'modbus') return `unit ${String(v.unit)} ${String(v.name)} = ${JSON.stringify(v.value)}${typeof v.eng_unit === 'string' ? ' ' + v.eng_unit : ''}`;
  if (r.kind === 'serial') return typeof v.bytes_hex === 'string' ? `(hex) ${v.bytes_hex}` : JSON.stringify(v.line);
  return `${String(v.topic)} ${typeof v.payload === 'string' ? v.payload : typeof v.payload_hex === 'string' ? `(hex) ${v.payload_hex}` : JSON.stringify(v.payload)}`;
}
