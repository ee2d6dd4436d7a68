// What the collector's web console shows (issue #17; src/console/model.ts): the gateways that
// published here — from the database (readings per slot, the newest), the audit trail (the last
// accepted announcement: name, board, catalogue of slots, Discovery Grant expiry, readings the
// gateway's log dropped) and the sessions up now (through which RN) — each slot's history from the
// database, and the audit trail itself. Live: every reading and audit line is shown once it is
// durable (ObservedStore). What the collector cannot know it says: it keeps no per-slave
// diagnostics and appraises no evidence (an operator's `connect … ui` does both, end to end).

import { EventEmitter } from 'node:events';
import type { CatalogueEntry } from '../hil/publish-messages.js';
import { expiry, type AuditLine, type ConsoleEvent, type ConsoleSource, type FleetGateway, type GatewayDetail, type SlotDetail, type SlotRow } from '../console/model.js';
import { budgetedPoint, newestWithin, POINT_VALUE_MAX_BYTES, type BudgetedPoint } from '../console/point-budget.js';
import { readingValueJson } from '../console/value.js';
import { fromHex, toHex } from '../uzp/bytes.js';
import { REVOKE_EVENT } from './consents.js';
import { REVOKE_DELETED_EVENT } from './purges.js';
import { GRANT_ACCEPTED_EVENT } from './retention.js';
import { READING_CONFLICT_EVENT } from './store/conflicts.js';
import type { ObservedStore } from './store/observed.js';
import type { AuditEntry, SlotSummary, StoredReading } from './store/store.js';

/** A slot with no reading for this long is shown as quiet. */
export const QUIET_MS = 5 * 60_000;
/**
 * Slot summaries are read at most once per SUMMARY_TTL_MS after the last read finished, however many
 * views are open (counts may lag by that much; new readings themselves reach the page at once as
 * events). Both stores keep them in a table of their own (slot_summary), one row per slot.
 */
export const SUMMARY_TTL_MS = 3_000;
const NOT_APPRAISED = ['the collector does not appraise gateways; `uzpgw connect … ui --manifest` does, bound to its own session'];
const NO_DIAGNOSTICS = 'Per-slave diagnostics live on the gateway and are not published: open `uzpgw connect … ui` with a Grant holding diag.read to see them.';

/** A publishing session up now. */
export interface LiveGateway {
  readonly gateway: Uint8Array;
  readonly rn?: Uint8Array;
}

/** What the last accepted announcement of a gateway said (its grant.accepted audit line). */
interface Announced {
  readonly name?: string;
  readonly board?: string;
  readonly catalogue: readonly CatalogueEntry[];
  readonly expiresAt?: number;
  readonly dropped: number;
}

function announcedFrom(d: Readonly<Record<string, unknown>>): Announced {
  const catalogue = Array.isArray(d.catalogue) ? (d.catalogue as CatalogueEntry[]).filter((c) => typeof c?.slot === 'string') : [];
  const dropped = typeof d.dropped === 'object' && d.dropped !== null ? Object.values(d.dropped).reduce<number>((n, v) => n + (typeof v === 'number' ? v : 0), 0) : 0;
  const exp = typeof d.expires_at === 'string' ? Date.parse(d.expires_at) : NaN;
  return {
    ...(typeof d.name === 'string' ? { name: d.name } : {}),
    ...(typeof d.board === 'string' ? { board: d.board } : {}),
    catalogue,
    ...(Number.isFinite(exp) ? { expiresAt: exp } : {}),
    dropped,
  };
}

/**
 * What a conflict's entry says differed (conflicts.ts `differs`, ConflictField names, in their
 * order): "a different ts and value". The entry keeps nothing else of either copy, so this is all
 * an operator learns of the clash — a changed ts alone (a clock stepped) is another fault than a
 * changed value. An entry without a list of them says "other content".
 */
function differing(differs: unknown): string {
  const fields = Array.isArray(differs) ? differs.filter((f): f is string => typeof f === 'string') : [];
  if (fields.length === 0) return 'other content';
  return `a different ${fields.length === 1 ? fields[0] : `${fields.slice(0, -1).join(', ')} and ${fields[fields.length - 1]}`}`;
}

/** One audit entry for people: refusals marked, the code and reason they carry. */
export function auditLine(e: AuditEntry): AuditLine {
  const d = e.detail;
  const code = typeof d.code === 'string' ? d.code : undefined;
  const grant = typeof d.grant === 'string' ? `${d.grant.slice(0, 12)}…` : '';
  let text: string;
  if (typeof d.reason === 'string') text = d.reason;
  else if (e.event === GRANT_ACCEPTED_EVENT) text = `Discovery Grant ${grant} accepted (${String(d.action ?? 'announce')}); expires ${String(d.expires_at ?? '?')}`;
  else if (e.event === 'readings.refused') text = `${String(d.readings)} readings outside the grant's scope were not stored`;
  else if (e.event === REVOKE_EVENT)
    // Entries from before revoke.deleted carry the count themselves.
    text = `consent withdrawn ${typeof d.relationshipAtMs === 'number' ? `for the whole relationship (grant ${grant} in force)` : `under grant ${grant}`}${Array.isArray(d.slots) ? ` for ${d.slots.join(', ')}` : ''}${typeof d.deleted === 'number' ? `; ${d.deleted} readings deleted` : ''}`;
  else if (e.event === REVOKE_DELETED_EVENT) text = `${String(d.deleted)} readings deleted under revocation ${typeof d.revocation === 'string' ? `${d.revocation.slice(0, 12)}…` : '?'}${Array.isArray(d.slots) ? ` (${d.slots.join(', ')})` : ''}`;
  else if (e.event === READING_CONFLICT_EVENT) text = `a reading of ${String(d.slot)} ${String(d.epoch)}/${String(d.seq)} was sent again with ${differing(d.differs)}; the first copy is kept`;
  else if (e.event === 'grant.expired') text = `Discovery Grant ${grant} expired during the session; nothing more is stored under it`;
  else text = JSON.stringify(d).slice(0, 300);
  return { at: e.at, gateway: toHex(e.gateway), event: e.event, refusal: /\.refused$/.test(e.event) || e.event === 'grant.expired' || e.event === READING_CONFLICT_EVENT, ...(code !== undefined ? { code } : {}), text };
}

/** A stored reading as the page shows it: a value over POINT_VALUE_MAX_BYTES was not even read (store.query valueMaxBytes). */
function shown(r: StoredReading): BudgetedPoint {
  return budgetedPoint(r, r.omittedBytes ?? r.value.length, () => readingValueJson(r.value));
}

export class CollectorConsole implements ConsoleSource {
  readonly role = 'collector';
  private readonly events = new EventEmitter();
  private readonly announced = new Map<string, Announced>();
  /** Every gateway the audit trail names (a refused one too). */
  private readonly seen = new Set<string>();
  private unobserve: () => void = () => {};
  private summaryCache: { at: number | undefined; readonly value: Promise<SlotSummary[]> } | undefined;

  private constructor(
    private readonly store: ObservedStore,
    private readonly live: () => readonly LiveGateway[],
    private readonly now: () => number,
  ) {
    this.events.setMaxListeners(0);
  }

  /** Reads what the audit trail says of each gateway, then follows the store. */
  static async open(store: ObservedStore, live: () => readonly LiveGateway[], now: () => number = Date.now): Promise<CollectorConsole> {
    const c = new CollectorConsole(store, live, now);
    // Not the whole trail: the gateways it names, and the accepted announcements.
    for (const g of await store.auditGateways()) c.seen.add(toHex(g));
    for await (const e of store.auditEvents(GRANT_ACCEPTED_EVENT)) c.note(e);
    c.unobserve = store.observe({
      inserted: (rows) => {
        for (const r of rows) c.emit({ t: 'reading', gateway: toHex(r.gateway), slot: r.slot, point: shown(r).point });
      },
      audited: (e) => {
        c.note(e);
        c.emit({ t: 'audit', line: auditLine(e) });
        c.emit({ t: 'fleet' });
      },
    });
    return c;
  }

  /** A session opened or closed. */
  sessionsChanged(): void {
    this.emit({ t: 'fleet' });
  }

  close(): void {
    this.unobserve();
    this.events.removeAllListeners();
  }

  subscribe(fn: (e: ConsoleEvent) => void): () => void {
    this.events.on('e', fn);
    return () => this.events.off('e', fn);
  }

  async fleet(): Promise<FleetGateway[]> {
    const summaries = await this.summaries();
    const live = new Map(this.live().map((l) => [toHex(l.gateway), l]));
    // Grouped once: a filter per gateway was quadratic (2.3 s of one turn at 2,000 gateways).
    const byGateway = new Map<string, SlotSummary[]>();
    for (const s of summaries) {
      const cid = toHex(s.gateway);
      const list = byGateway.get(cid);
      if (list === undefined) byGateway.set(cid, [s]);
      else list.push(s);
    }
    const cids = new Set([...this.seen, ...byGateway.keys(), ...live.keys()]);
    return [...cids].sort().map((cid) => {
      const mine = byGateway.get(cid) ?? [];
      return this.fleetEntry(cid, live.get(cid), mine.length, mine.reduce((n, s) => n + s.readings, 0), mine.length > 0 ? Math.max(...mine.map((s) => s.newestTs)) : undefined);
    });
  }

  private fleetEntry(cid: string, live: LiveGateway | undefined, slots: number, readings: number, newestAt: number | undefined): FleetGateway {
    const a = this.announced.get(cid);
    return {
      cid,
      ...(a?.name !== undefined ? { name: a.name } : {}),
      ...(a?.board !== undefined ? { board: a.board } : {}),
      connected: live !== undefined,
      ...(live?.rn !== undefined && live.rn.length > 0 ? { rn: toHex(live.rn) } : {}),
      verdict: { status: 'not-appraised', reasons: NOT_APPRAISED },
      expiries: a?.expiresAt !== undefined ? [expiry('Discovery Grant', a.expiresAt, this.now())] : [],
      slots: Math.max(slots, a?.catalogue.length ?? 0),
      readings,
      ...(newestAt !== undefined ? { newestAt } : {}),
      ...(a !== undefined ? { dropped: a.dropped } : {}),
    };
  }

  async gateway(cid: string): Promise<GatewayDetail | undefined> {
    const gw = fromHex(cid);
    const summaries = (await this.summaries()).filter((s) => toHex(s.gateway) === cid);
    const a = this.announced.get(cid);
    if (summaries.length === 0 && a === undefined && !this.seen.has(cid)) return undefined;
    const live = this.live().find((l) => toHex(l.gateway) === cid);
    const names = [...new Set([...(a?.catalogue.map((c) => c.slot) ?? []), ...summaries.map((s) => s.slot)])].sort();
    const slots: SlotRow[] = [];
    for (const slot of names) {
      const s = summaries.find((x) => x.slot === slot);
      const c = a?.catalogue.find((x) => x.slot === slot);
      // Bounded as the plot's points are: a slot's newest value may be 512 KiB, for a 200-character cell.
      const newest = s !== undefined ? (await this.store.query({ gateway: gw, slot, sinceMs: s.newestTs, limit: 1, newest: true, valueMaxBytes: POINT_VALUE_MAX_BYTES }))[0] : undefined;
      slots.push(this.slotRow(slot, c, s?.readings ?? 0, s?.newestTs, newest !== undefined ? shown(newest).point.value : undefined));
    }
    const readings = summaries.reduce((n, s) => n + s.readings, 0);
    return { gateway: this.fleetEntry(cid, live, names.length, readings, summaries.length > 0 ? Math.max(...summaries.map((s) => s.newestTs)) : undefined), slots, diagnosticsNote: NO_DIAGNOSTICS };
  }

  private slotRow(slot: string, c: CatalogueEntry | undefined, readings: number, newestAt: number | undefined, last: unknown): SlotRow {
    const quiet = newestAt !== undefined && this.now() - newestAt > QUIET_MS;
    return {
      slot,
      ...(c !== undefined ? { device: c.device, kind: c.kind, driver: c.driver } : {}),
      state: newestAt === undefined ? 'unknown' : quiet ? 'quiet' : 'ok',
      ...(quiet ? { note: `no reading for ${Math.round((this.now() - newestAt!) / 60_000)} min` } : newestAt === undefined ? { note: 'nothing stored yet' } : {}),
      readings,
      ...(newestAt !== undefined ? { newestAt } : {}),
      ...(last !== undefined ? { last } : {}),
    };
  }

  async slot(cid: string, slot: string, sinceMs: number, limit: number): Promise<SlotDetail | undefined> {
    const detail = await this.gateway(cid);
    const row = detail?.slots.find((s) => s.slot === slot);
    if (row === undefined) return undefined;
    const rows = await this.store.query({ gateway: fromHex(cid), slot, sinceMs, limit, newest: true, valueMaxBytes: POINT_VALUE_MAX_BYTES });
    // Oldest first; an omitted value was not read, so its row counts nothing against the budget.
    const { kept, omitted } = newestWithin(rows, (r) => r.value.length);
    return { gateway: cid, row, points: kept.map((r) => shown(r).point), history: 'database', ...(omitted > 0 ? { omittedPoints: omitted } : {}) };
  }

  async audit(limit: number): Promise<AuditLine[]> {
    return (await this.store.recentAudit(limit)).map(auditLine);
  }

  private summaries(): Promise<SlotSummary[]> {
    const c = this.summaryCache;
    // Stamped when the read finished, not when it started: a read that took longer than the TTL
    // was otherwise stale on arrival and every view started another. One in flight is shared.
    if (c === undefined || (c.at !== undefined && performance.now() - c.at > SUMMARY_TTL_MS)) {
      const entry: { at: number | undefined; value: Promise<SlotSummary[]> } = { at: undefined, value: this.store.slotSummaries() };
      entry.value.then(
        () => (entry.at = performance.now()),
        // A failed read is not kept: the next view asks the database again.
        () => {
          if (this.summaryCache === entry) this.summaryCache = undefined;
        },
      );
      this.summaryCache = entry;
    }
    return this.summaryCache!.value;
  }

  private note(e: AuditEntry): void {
    const cid = toHex(e.gateway);
    this.seen.add(cid);
    if (e.event === GRANT_ACCEPTED_EVENT) this.announced.set(cid, announcedFrom(e.detail));
  }

  private emit(e: ConsoleEvent): void {
    this.events.emit('e', e);
  }
}
