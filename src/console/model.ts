// What the web console shows (issue #17), as the JSON its API serves: one shape for both servers
// that carry it — the collector (`uzpgw collector --ui`, history from its database) and an
// operator's workstation (`uzpgw connect … ui`, live data of the slots its Grant covers). The gateway
// itself never serves a page: it holds no listener (ARCHITECTURE §Security invariants). Each server
// implements ConsoleSource over what it knows; the page (web/) renders whatever the source fills in
// and says what a source cannot know (e.g. the collector keeps no per-slave diagnostics).

import type { DiagReport } from '../hil/diag-report.js';

/** Where an attestation verdict came from and what it said (RFC 9334 appraisal, src/attest/appraise.ts). */
export interface Verdict {
  readonly status: 'pass' | 'fail' | 'not-appraised';
  /** Why: the failed checks, or why nothing was appraised. */
  readonly reasons: readonly string[];
}

/** An artefact whose validity ends; `warn` once less than EXPIRY_WARN_MS is left (or it has ended). */
export interface Expiry {
  readonly what: string;
  /** Unix ms. */
  readonly at: number;
  readonly warn: boolean;
}

/** Within this much of its end an artefact is flagged (a week: time to issue and deploy a new one). */
export const EXPIRY_WARN_MS = 7 * 24 * 3600 * 1000;

export function expiry(what: string, atMs: number, nowMs: number): Expiry {
  return { what, at: atMs, warn: atMs - nowMs < EXPIRY_WARN_MS };
}

export interface FleetGateway {
  /** The gateway's CID, 64 hex digits. */
  readonly cid: string;
  readonly name?: string;
  readonly board?: string;
  /** A session with the gateway is up now. */
  readonly connected: boolean;
  /** The RN carrying that session (CID hex). */
  readonly rn?: string;
  readonly verdict: Verdict;
  readonly expiries: readonly Expiry[];
  readonly slots: number;
  readonly readings: number;
  /** Unix ms of the newest reading known. */
  readonly newestAt?: number;
  /** Readings the gateway's log dropped at its byte bound, as it last announced (collector). */
  readonly dropped?: number;
}

/** How a slot looks from here: worst unit state for a Modbus slot with diagnostics, else from its readings. */
export type SlotState = 'ok' | 'timeout' | 'error' | 'unknown' | 'quiet' | 'refused' | 'closed';

export interface SlotRow {
  readonly slot: string;
  readonly device?: string;
  readonly kind?: string;
  readonly driver?: string;
  readonly state: SlotState;
  /** Why the state is what it is (a refusal explained, a quiet slot's age). */
  readonly note?: string;
  readonly readings: number;
  readonly newestAt?: number;
  /** The newest reading's value as JSON. */
  readonly last?: unknown;
  /** Per-slave diagnostics, when this source has them (docs/PROFILE.md §HIL "diag mode"). */
  readonly diag?: DiagReport;
}

export interface GatewayDetail {
  readonly gateway: FleetGateway;
  readonly slots: readonly SlotRow[];
  /** Said when per-slave diagnostics cannot be shown here, and where to find them. */
  readonly diagnosticsNote?: string;
}

/** One plotted reading: its numeric series (series.ts) at its gateway timestamp. */
export interface Point {
  readonly ts: number;
  readonly epoch?: number;
  readonly seq: number;
  readonly values: Readonly<Record<string, number>>;
  readonly value: unknown;
}

export interface SlotDetail {
  readonly gateway: string;
  readonly row: SlotRow;
  /** Oldest first. */
  readonly points: readonly Point[];
  /** Where the points came from: the collector's database, or what this process saw live. */
  readonly history: 'database' | 'live';
  /** Older points of the period left out to keep the answer within its byte budget. */
  readonly omittedPoints?: number;
}

export interface AuditLine {
  /** Unix ms. */
  readonly at: number;
  readonly gateway: string;
  readonly event: string;
  /** A refusal (of a grant, a reading, a channel): shown as such. */
  readonly refusal: boolean;
  readonly code?: string;
  readonly text: string;
}

export type ConsoleEvent =
  | { readonly t: 'reading'; readonly gateway: string; readonly slot: string; readonly point: Point }
  | { readonly t: 'slot'; readonly gateway: string; readonly row: SlotRow }
  | { readonly t: 'audit'; readonly line: AuditLine }
  | { readonly t: 'fleet' };

/** What a console server needs from the role that runs it. */
export interface ConsoleSource {
  readonly role: 'collector' | 'operator';
  fleet(): Promise<FleetGateway[]>;
  gateway(cid: string): Promise<GatewayDetail | undefined>;
  /** Readings of one slot stamped at or after `sinceMs`, at most `limit` (the newest). */
  slot(cid: string, slot: string, sinceMs: number, limit: number): Promise<SlotDetail | undefined>;
  /** Newest first. */
  audit(limit: number): Promise<AuditLine[]>;
  /** Live changes; returns the unsubscribe function. */
  subscribe(fn: (e: ConsoleEvent) => void): () => void;
}

/** The worst state of a Modbus slot's units (timeout over error over unknown over ok). */
export function worstUnitState(d: DiagReport): SlotState {
  const states = d.units.filter((u) => u.polled).map((u) => u.state);
  for (const s of ['timeout', 'error'] as const) if (states.includes(s)) return s;
  if (d.port !== 'open') return 'error';
  return states.includes('ok') ? 'ok' : 'unknown';
}
